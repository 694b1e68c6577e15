# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of the harness modules.
#   make                   build against KDIR
#   make KDIR=/path/build  build against another kernel build directory
#   make check             W=1 and sparse (C=1) builds, checkpatch --strict
#   make run               the main job (scripts/vmalock-run.sh)
#   make test              the project's tests (scripts/test.sh)
#   make test-generations  those tests on Linux 7.2 and 7.3 (test.sh --generations)
#   make bench             benchmarks on the perf kernel (scripts/bench.sh)
#
# KDIR defaults to the debug test kernel built by scripts/build-kernel.sh,
# else to the running kernel's build directory.
CACHE ?= $(HOME)/.cache/vmalock-test
KDIR ?= $(firstword $(wildcard $(CACHE)/build/*-debug) /lib/modules/$(shell uname -r)/build)

all: modules

modules clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) $@

# sparse: Debian 12's is too old for new kernels; get-sparse.sh builds one.
check:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CHECK=$$(scripts/get-sparse.sh) modules
	$(KDIR)/source/scripts/checkpatch.pl --no-tree --strict --terse -f \
		$(filter-out %.mod.c,$(wildcard *.c *.h kunit/*.c user/*.c))

run:
	scripts/vmalock-run.sh

test:
	scripts/test.sh

test-generations:
	scripts/test.sh --generations

bench:
	scripts/bench.sh

.PHONY: all modules clean check run test test-generations bench
