# Tern: build, boot and test. `make run` boots Tern in QEMU; `make test`
# runs every test. Both install what is missing (scripts/install-deps.sh).

BUILD      := build
ELF        := $(BUILD)/tern.elf
ISO        := $(BUILD)/tern.iso
DEPS_STAMP := $(BUILD)/.deps-ok

SWIFTC ?= swiftc
CLANG  ?= clang
TERN_LD ?= ld.lld
NASM   ?= nasm

# Two Embedded Swift modules, so that the compiler enforces the layers:
# TernCore (Core and Model: pure, the same sources `swift test` builds on
# the host) and Tern (Machine, the only code that touches the CPU), which
# imports TernCore and sees only its public API (no `internal(set)` state).
CORE_SOURCES    := $(wildcard Hypervisor/Core/*.swift) $(wildcard Hypervisor/x86_64/Model/*.swift)
MACHINE_SOURCES := $(wildcard Hypervisor/x86_64/Machine/*.swift)
SWIFT_MODULES   := $(BUILD)/modules
ASM_SOURCES   := $(wildcard Boot/*.asm)
ASM_OBJECTS   := $(patsubst Boot/%.asm,$(BUILD)/boot/%.o,$(ASM_SOURCES))
C_HEADERS     := $(wildcard Hypervisor/x86_64/include/*) $(wildcard Hypervisor/ABI/include/*/*.h)

# Embedded Swift for bare-metal x86-64 (platform-facts.md): no red zone
# (interrupts), no SSE/x87 state in the hypervisor, no stack protector.
EMBEDDED_SWIFT_FLAGS := -target x86_64-unknown-none-elf \
  -enable-experimental-feature Embedded -wmo -Osize -parse-as-library -swift-version 5 \
  -Xfrontend -disable-stack-protector -Xfrontend -function-sections \
  -Xcc -ffreestanding -Xcc -mno-red-zone -Xcc -mno-mmx -Xcc -mno-sse \
  -Xcc -mno-sse2 -Xcc -mno-avx -I Hypervisor/ABI/include
CORE_SWIFT_FLAGS := $(EMBEDDED_SWIFT_FLAGS) -module-name TernCore
SWIFT_FLAGS := $(EMBEDDED_SWIFT_FLAGS) -module-name Tern -I Hypervisor/x86_64/include -I $(SWIFT_MODULES)
C_FLAGS := -target x86_64-unknown-none-elf -ffreestanding -fno-builtin \
  -mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mno-avx -fno-stack-protector \
  -fno-omit-frame-pointer -O2 -Wall -Wextra -Werror
LD_FLAGS := -static -nostdlib --no-pie -z max-page-size=4096 --gc-sections -T linker.ld

# Boot options for `make run`; QEMU settings shared with the boot tests.
TERN_CMDLINE ?= loglvl=info
QEMU      ?= qemu-system-x86_64
# EPYC without the features QEMU's TCG (7.2, bookworm's) does not have:
# QEMU drops them anyway, with a warning each on every start; named here,
# the CPU the guests see is the same (its CPUID feature words compared) and
# the run starts quietly. (The boot tests use plain EPYC and ignore those
# warnings: Tests/Boot/qemu.py.)
QEMU_CPU  := EPYC,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec
QEMU_COMMON := -cpu $(QEMU_CPU) -smp 1 -display none -no-reboot -serial mon:stdio
QEMU_BASE := $(QEMU_COMMON) -m 512M

# Quiet build lines; `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

# PV guests (Guests/): each is its own Embedded Swift module with the SDK:
# every .swift file in Guests/NAME/, plus GUEST_SHARED_NAME (sources that
# guests talking to each other share: their protocol).
GUESTS        := hello ticker spinner sleeper hostile bench minimal ping pong echo disk net
GUEST_ELVES   := $(patsubst %,$(BUILD)/guests/%.elf,$(GUESTS))
GUEST_SDK     := $(wildcard Guests/Runtime/Swift/*.swift) Hypervisor/ABI/Ring/IORing.swift
GUEST_RUNTIME := $(BUILD)/guests/start.o $(BUILD)/guests/runtime.o $(BUILD)/guests/console.o $(BUILD)/guests/note.o $(BUILD)/memory.o
PINGPONG      := $(wildcard Guests/PingPong/*.swift)
GUEST_SHARED_ping    := $(PINGPONG)
GUEST_SHARED_pong    := $(PINGPONG)
GUEST_SHARED_hostile := $(PINGPONG)
GUEST_HEADERS := $(wildcard Guests/Runtime/include/*) $(wildcard Hypervisor/ABI/include/*/*.h)
GUEST_SWIFT_FLAGS := $(EMBEDDED_SWIFT_FLAGS) -module-name Guest -I Guests/Runtime/include
GUEST_C_FLAGS := $(C_FLAGS) -I Guests/Runtime/include -I Hypervisor/ABI/include

# Dom0: Debian's cloud kernel and the initramfs from Dom0/. The kernel's
# ABI is the pinned one (KERNEL_PIN in Dom0/kernel-abi.sh) while Debian's
# archive has it, else the current one; `make KERNEL_ABI=... dom0` sets it.
# The ABI used is recorded in DOM0_ABI; what is built from it depends on it.
DOM0          := $(BUILD)/dom0
DOM0_ABI      := $(DOM0)/kernel-abi
DOM0_KERNEL   := $(DOM0)/vmlinuz
DOM0_INITRD   := $(DOM0)/initramfs.cpio.lz4
DOM0_TERN_KO  := $(DOM0)/tern.ko
# The Linux guest's test initramfs (Guests/linux): busybox from Dom0's,
# and its modules (Guests/linux/driver: tern_guest.ko, tern_echo_front.ko,
# tern_blkfront.ko, tern_netfront.ko).
LINUX_GUEST_INITRD := $(BUILD)/guests/linux-initramfs.cpio.gz
LINUX_GUEST_KOS    := $(BUILD)/guests/tern_guest.ko $(BUILD)/guests/tern_echo_front.ko $(BUILD)/guests/tern_blkfront.ko \
                      $(BUILD)/guests/tern_netfront.ko
# Dom0's data disk (docs/dom0.md, "Data disk"): ext4 labelled tern-data,
# mounted by Dom0 at /var/lib/tern; DATA_DISK_FILES are what the build
# puts on it (path in the file system = file here). A sparse file: the
# size leaves room for guest disk images.
DATA_DISK       := $(DOM0)/data.img
DATA_DISK_SIZE  := 1G
# The Linux guests' tools disk (Guests/linux/build-tools-disk.sh): mkfs.ext4,
# fsck.ext4, tern-diskbench and tern-netbench for a guest's disk tests and bench.
LINUX_TOOLS_DISK := $(BUILD)/guests/linux-tools.img
DATA_DISK_FILES := linux/vmlinux=$(DOM0)/vmlinux.trimmed linux/initramfs.cpio.gz=$(LINUX_GUEST_INITRD) \
                   linux/tools.img=$(LINUX_TOOLS_DISK)
# The fast-boot command line measured in platform-facts.md (Dom0/cmdline).
DOM0_CMDLINE  := $(shell cat Dom0/cmdline)

.PHONY: all help iso guests dom0 run-dom0-bare run run-kernel test unit-test safety-check docs-check boot-test bench deps clean FORCE

all: $(ELF) guests

# One line per target; a new target gets its line here.
help:
	@echo "make                build build/tern.elf and the guests (build/guests/*.elf)"
	@echo "make help           this list"
	@echo "make guests         build only the guests"
	@echo "make iso            build build/tern.iso (GRUB, multiboot2: Tern, Dom0, the guests)"
	@echo "make dom0           fetch Dom0's kernel; build tern.ko, tern, the C tools, the initramfs, the data disk"
	@echo "make run            boot Tern (QEMU -kernel) to Dom0's root shell; /var/lib/tern is build/tern-data.img (Ctrl-A X quits)"
	@echo "make run-kernel     boot tern.elf with QEMU -kernel, no Dom0 (TERN_CMDLINE=..., TERN_MODULES=...)"
	@echo "make run-dom0-bare  boot Dom0's kernel and initramfs under plain QEMU, no Tern, same devices"
	@echo "make command-run    print make run's QEMU command (NUL-separated; also command-run-dom0-bare)"
	@echo "make test           every check and test; ends with one line: N passed, N failed"
	@echo "make unit-test      the SAFETY and test-docs checks, then swift test"
	@echo "make boot-test      the QEMU boot tests only (Tests/Boot)"
	@echo "make safety-check   every unsafe site has a // SAFETY: reason"
	@echo "make docs-check     every boot test has its row in docs/testing.md"
	@echo "make bench          measure boot, guests, channels, Dom0, toolstack, Linux guests, block I/O, network (ONLY=section,...)"
	@echo "make deps           install the missing Debian packages (scripts/install-deps.sh)"
	@echo "make clean          remove build/ and .build/"

guests: $(GUEST_ELVES)

# Keep the guests' objects: as intermediates make would delete them (and
# print that after the test summary).
.PRECIOUS: $(BUILD)/guests/%.o

# $$* in the prerequisites: the guest's own files and its shared ones.
.SECONDEXPANSION:
$(BUILD)/guests/%.o: Guests/%/main.swift $$(wildcard Guests/$$*/*.swift) $$(GUEST_SHARED_$$*) \
                     $(GUEST_SDK) $(GUEST_HEADERS) Makefile | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/guests
	@echo "  SWIFTC  $@"
	$(Q)$(SWIFTC) $(GUEST_SWIFT_FLAGS) -c $(filter %.swift,$^) -o $@
	$(Q)touch $@

$(BUILD)/guests/runtime.o $(BUILD)/guests/console.o $(BUILD)/guests/note.o: $(BUILD)/guests/%.o: Guests/Runtime/%.c $(GUEST_HEADERS) Makefile | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/guests
	@echo "  CC      $@"
	$(Q)$(CLANG) $(GUEST_C_FLAGS) -c $< -o $@

$(BUILD)/guests/start.o: Guests/Runtime/start.asm | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/guests
	@echo "  NASM    $@"
	$(Q)$(NASM) -f elf64 $< -o $@

$(BUILD)/guests/%.elf: $(BUILD)/guests/%.o $(GUEST_RUNTIME) Guests/Runtime/guest.ld
	@echo "  LD      $@"
	$(Q)$(TERN_LD) -static -nostdlib --no-pie -z max-page-size=4096 -T Guests/Runtime/guest.ld \
	  $(GUEST_RUNTIME) $< -o $@

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/install-deps.sh
	@bash scripts/install-deps.sh
	@mkdir -p $(BUILD) && touch $@

# TernCore's object and its module interface (one swiftc run makes both).
$(BUILD)/terncore.o: $(CORE_SOURCES) $(C_HEADERS) Makefile | $(DEPS_STAMP)
	@mkdir -p $(SWIFT_MODULES)
	@echo "  SWIFTC  $@ (module TernCore)"
	$(Q)$(SWIFTC) $(CORE_SWIFT_FLAGS) -emit-module -emit-module-path $(SWIFT_MODULES)/TernCore.swiftmodule \
	  -c $(CORE_SOURCES) -o $@
	$(Q)touch $@  # swiftc keeps the old file (and time) when nothing changed

$(BUILD)/tern-swift.o: $(MACHINE_SOURCES) $(BUILD)/terncore.o $(C_HEADERS) Makefile | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	@echo "  SWIFTC  $@"
	$(Q)$(SWIFTC) $(SWIFT_FLAGS) -c $(MACHINE_SOURCES) -o $@
	$(Q)touch $@

$(BUILD)/runtime.o: Hypervisor/Runtime/runtime.c Hypervisor/ABI/include/tern/abi.h Makefile | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	@echo "  CC      $@"
	$(Q)$(CLANG) $(C_FLAGS) -I Hypervisor/ABI/include -c $< -o $@

$(BUILD)/memory.o: Hypervisor/Runtime/memory.c Makefile | $(DEPS_STAMP)
	@mkdir -p $(BUILD)
	@echo "  CC      $@"
	$(Q)$(CLANG) $(C_FLAGS) -c $< -o $@

$(BUILD)/boot/%.o: Boot/%.asm Boot/layout.inc | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/boot
	@echo "  NASM    $@"
	$(Q)$(NASM) -f elf64 -I Boot/ $< -o $@

$(ELF): $(ASM_OBJECTS) $(BUILD)/terncore.o $(BUILD)/tern-swift.o $(BUILD)/runtime.o $(BUILD)/memory.o linker.ld
	@echo "  LD      $@"
	$(Q)$(TERN_LD) $(LD_FLAGS) $(ASM_OBJECTS) $(BUILD)/terncore.o $(BUILD)/tern-swift.o $(BUILD)/runtime.o $(BUILD)/memory.o -o $@
	@size=$$(stat -c %s $@); echo "built $@ ($$size bytes)"

dom0: $(DOM0_KERNEL) $(DOM0_TERN_KO) $(DOM0_TERN_CLI) $(DOM0_INITRD) $(LINUX_GUEST_INITRD) $(DATA_DISK)

$(LINUX_GUEST_INITRD): $(DOM0_INITRD) $(LINUX_GUEST_KOS) Guests/linux/init Guests/linux/build-initramfs.sh Dom0/initramfs/udhcpc.script
	$(Q)bash Guests/linux/build-initramfs.sh $(DOM0) $@

# The Linux guest's modules, against the headers tern.ko is built against
# (one build makes them all: the frontends link against tern_guest's symbols).
$(wordlist 2,$(words $(LINUX_GUEST_KOS)),$(LINUX_GUEST_KOS)): $(firstword $(LINUX_GUEST_KOS))
$(firstword $(LINUX_GUEST_KOS)): $(DOM0_TERN_KO) $(wildcard Guests/linux/driver/*.c Guests/linux/driver/*.h) \
                 Guests/linux/driver/Kbuild Guests/linux/driver/build.sh $(wildcard Hypervisor/ABI/include/tern/*.h) | $(DEPS_STAMP)
	@echo "  KMOD    $(LINUX_GUEST_KOS)"
	$(Q)bash Guests/linux/driver/build.sh $(DOM0) $(BUILD)/guests

# Decided at every make (the archive changes under us); the file is
# rewritten, and so newer than what was built from it, only when the ABI
# changes (Dom0/kernel-abi.sh).
$(DOM0_ABI): FORCE | $(DEPS_STAMP)
	$(Q)KERNEL_ABI='$(KERNEL_ABI)' bash Dom0/kernel-abi.sh $(DOM0)

$(DOM0_KERNEL): $(DOM0_ABI) Dom0/fetch-kernel.sh Dom0/extract-vmlinux.py | $(DEPS_STAMP)
	@echo "  FETCH   $@ ($$(cat $(DOM0_ABI)))"
	$(Q)bash Dom0/fetch-kernel.sh $(DOM0)
	$(Q)touch $@  # also when the script found it cached

# tern.ko, built against the Dom0 kernel's headers (Dom0/fetch-headers.sh).
$(DOM0_TERN_KO): $(DOM0_ABI) $(DOM0_KERNEL) $(wildcard Dom0/driver/*.c Dom0/driver/*.h) Dom0/driver/Kbuild Dom0/driver/build.sh \
                 Dom0/fetch-headers.sh $(wildcard Hypervisor/ABI/include/tern/*.h) | $(DEPS_STAMP)
	@echo "  KMOD    $@"
	$(Q)bash Dom0/driver/build.sh $(DOM0)

# The toolstack CLI, static, for the initramfs (Dom0/toolstack/build.sh).
DOM0_TERN_CLI := $(DOM0)/tern
TOOLSTACK_SOURCES := Package.swift $(wildcard Dom0/toolstack/*/*.swift Dom0/toolstack/*/*.c Dom0/toolstack/*/include/*.h) \
                     $(wildcard Dom0/blockback/*/*.swift Hypervisor/ABI/Ring/*.swift) $(wildcard Hypervisor/ABI/include/tern/*.h)
$(DOM0_TERN_CLI): $(TOOLSTACK_SOURCES) Dom0/toolstack/build.sh | $(DEPS_STAMP)
	@echo "  SWIFT   $@"
	$(Q)bash Dom0/toolstack/build.sh $(DOM0)

# Dom0 tools in C (Dom0/tools), static against musl, for the initramfs.
DOM0_TOOLS := $(DOM0)/tern-echo $(DOM0)/tern-hostile-pic $(DOM0)/tern-hostile-msi $(DOM0)/tern-diskbench $(DOM0)/tern-netbench
$(DOM0)/%: Dom0/tools/%.c $(wildcard Hypervisor/ABI/include/tern/*.h) | $(DEPS_STAMP)
	@echo "  CC      $@"
	$(Q)mkdir -p $(DOM0) && musl-gcc -O2 -static -Wall -Wextra -Werror -I Hypervisor/ABI/include -o $@ $< && strip $@

$(DOM0_INITRD): $(DOM0_ABI) $(DOM0_KERNEL) $(DOM0_TERN_KO) $(DOM0_TERN_CLI) $(DOM0_TOOLS) $(GUEST_ELVES) Dom0/initramfs/build.sh Dom0/initramfs/init \
                 Dom0/initramfs/udhcpc.script Dom0/initramfs/modules-load $(wildcard Dom0/initramfs/etc-tern/*.cfg)
	@echo "  CPIO    $@"
	$(Q)bash Dom0/initramfs/build.sh $(DOM0)

# vmlinux without its trailing zeros and section data (53 -> 34 MB): the
# Dom0 kernel of make run and the ISO (less to load), and the guest kernel
# on the data disk.
$(DOM0)/vmlinux.trimmed: $(DOM0_KERNEL) Dom0/trim-vmlinux.py
	@echo "  TRIM    $@"
	$(Q)python3 Dom0/trim-vmlinux.py $(DOM0)/vmlinux $@

# Dom0's data disk (DATA_DISK, above).
$(LINUX_TOOLS_DISK): $(DOM0)/tern-diskbench $(DOM0)/tern-netbench Guests/linux/build-tools-disk.sh Guests/linux/disk-test | $(DEPS_STAMP)
	@echo "  EXT2    $@"
	$(Q)bash Guests/linux/build-tools-disk.sh $@ $(DOM0)/tern-diskbench $(DOM0)/tern-netbench

$(DATA_DISK): $(DOM0)/vmlinux.trimmed $(LINUX_GUEST_INITRD) $(LINUX_TOOLS_DISK) Dom0/data-disk.sh | $(DEPS_STAMP)
	@echo "  EXT4    $@"
	$(Q)bash Dom0/data-disk.sh build $@ $(DATA_DISK_SIZE) $(DATA_DISK_FILES)

# make run's copy of the data disk, kept between runs with what the user
# made in Dom0 (saved configs, later guest disks): created from data.img
# once, then only the build's own files (DATA_DISK_FILES) are rewritten in
# it when data.img is newer. `rm build/tern-data.img` starts afresh.
RUN_DATA_COPY := $(BUILD)/tern-data.img
$(RUN_DATA_COPY): $(DATA_DISK) Dom0/data-disk.sh
	$(Q)if [ -f $@ ]; then bash Dom0/data-disk.sh refresh $@ $(DATA_DISK_FILES); \
	else cp --sparse=always $(DATA_DISK) $@ && echo "  COPY    $@ (your Dom0's /var/lib/tern, kept between runs)"; fi
	$(Q)touch $@

# make run and run-dom0-bare: QEMU with a scratch virtio disk (vda,
# build/disk.img, kept between runs), the data disk (vdb) and virtio-net on
# QEMU's user network. make bench and the boot tests run the same commands
# (`make -s command-run`, below) with their own disks: RUN_DISK,
# RUN_DATA_DISK, RUN_DRIVE_OPTIONS (",snapshot=on": nothing is written).
RUN_DISK      := $(BUILD)/disk.img
RUN_DISK_SIZE := 64M
RUN_DATA_DISK := $(RUN_DATA_COPY)
RUN_DRIVE_OPTIONS :=
RUN_DEVICES := -drive file=$(RUN_DISK),format=raw,if=virtio$(RUN_DRIVE_OPTIONS) \
               -drive file=$(RUN_DATA_DISK),format=raw,if=virtio$(RUN_DRIVE_OPTIONS) \
               -netdev user,id=n0 -device virtio-net-pci,netdev=n0

# make run: Tern by QEMU's multiboot loader (-kernel), Dom0's kernel and
# initramfs as boot modules (QEMU's -initrd list; a comma in an option is
# doubled), without GRUB reading them from the CD-ROM. No example guests
# beside it (the ISO's first GRUB entry has two): they took Dom0's CPU
# while it booted; Dom0's shell creates guests (tern create /etc/tern/...).
comma := ,
RUN_DOM0_MEM := 512M
RUN_DOM0_KERNEL := $(DOM0)/vmlinux.trimmed
RUN_MODULES := $(RUN_DOM0_KERNEL) role=dom0 -- $(subst $(comma),$(comma)$(comma),$(DOM0_CMDLINE)),$(DOM0_INITRD) role=dom0-initrd
COMMAND_run := $(QEMU) $(QEMU_COMMON) -m 1G -kernel $(ELF) -append "$(TERN_CMDLINE) dom0_mem=$(RUN_DOM0_MEM)" \
               -initrd "$(RUN_MODULES)" $(RUN_DEVICES)
# The Dom0 kernel and initramfs under plain QEMU, no hypervisor, with the
# same devices: the baseline Tern's Dom0 boot is measured against (issue 4).
COMMAND_run-dom0-bare := $(QEMU) $(QEMU_COMMON) -m 1G -kernel $(DOM0_KERNEL) -initrd $(DOM0_INITRD) -append "$(DOM0_CMDLINE)" $(RUN_DEVICES)

# Prints a run target's QEMU command, one argument per NUL-terminated
# string, building nothing (scripts/bench.py, Tests/Boot/common.py).
command-%:
	@printf '%s\0' $(COMMAND_$*)

$(RUN_DISK):
	$(Q)truncate -s $(RUN_DISK_SIZE) $@

# Ctrl-A X quits. Ctrl-A Ctrl-A typed three times switches the console
# input between Dom0 and Tern (make run).
run-dom0-bare: $(DOM0_KERNEL) $(DOM0_INITRD) $(RUN_DATA_COPY) $(RUN_DISK)
	$(COMMAND_run-dom0-bare)

iso: $(ISO)

$(ISO): $(ELF) $(GUEST_ELVES) Boot/grub.cfg Dom0/cmdline $(DOM0)/vmlinux.trimmed $(DOM0_INITRD)
	@rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/boot/grub $(BUILD)/iso/guests
	@echo "  ISO     $@"
	$(Q)cp $(ELF) $(DOM0_INITRD) $(BUILD)/iso/boot/
	$(Q)cp $(DOM0)/vmlinux.trimmed $(BUILD)/iso/boot/vmlinux
	$(Q)cp $(GUEST_ELVES) $(BUILD)/iso/guests/
	$(Q)sed 's|@DOM0_CMDLINE@|$(DOM0_CMDLINE)|' Boot/grub.cfg > $(BUILD)/iso/boot/grub/grub.cfg
	$(Q)grub-mkrescue -o $@ $(BUILD)/iso 2>$(BUILD)/grub-mkrescue.log || (cat $(BUILD)/grub-mkrescue.log; exit 1)

# Boot Tern with QEMU -kernel to Dom0's root shell (COMMAND_run above;
# the ISO, GRUB's multiboot2 path as on real hardware, is `make iso`).
run: $(ELF) $(GUEST_ELVES) $(DOM0)/vmlinux.trimmed $(DOM0_INITRD) $(RUN_DATA_COPY) $(RUN_DISK)
	@echo "Booting Tern in QEMU (TCG) to Dom0's root shell. Quit with Ctrl-A then X."
	$(COMMAND_run)

# Boot tern.elf directly with QEMU's multiboot1 loader (faster, no GRUB, no
# Dom0); TERN_MODULES="build/guests/hello.elf name=hello,..." adds guests
# as boot modules (QEMU's -initrd list: docs/porting.md).
TERN_MODULES ?=
run-kernel: $(ELF) $(GUEST_ELVES)
	@echo "Booting Tern in QEMU (TCG). Quit with Ctrl-A then X."
	$(QEMU) $(QEMU_BASE) -kernel $(ELF) -append "$(TERN_CMDLINE)"$(if $(TERN_MODULES), -initrd "$(TERN_MODULES)")

# Every raw-memory operation and unsafe global has a `// SAFETY:` reason.
safety-check:
	python3 scripts/check-safety.py

# Every boot test has a row in docs/testing.md, every row a test.
docs-check:
	python3 scripts/check-test-docs.py

unit-test: safety-check docs-check $(DEPS_STAMP)
	swift test

boot-test: $(ELF) $(ISO) $(GUEST_ELVES) $(DOM0_KERNEL) $(DOM0_INITRD) $(LINUX_GUEST_INITRD) $(DATA_DISK)
	python3 Tests/Boot/boottest.py --elf $(ELF) --iso $(ISO)

# The SAFETY and test-docs checks, host unit tests, then boot tests; the
# last line is the combined summary (each check counts as one test).
test: $(ELF) $(ISO) $(GUEST_ELVES) $(DOM0_KERNEL) $(DOM0_INITRD) $(LINUX_GUEST_INITRD) $(DATA_DISK)
	python3 scripts/run-tests.py --elf $(ELF) --iso $(ISO)

bench: $(ELF) $(ISO) $(GUEST_ELVES) $(DOM0_KERNEL) $(DOM0_INITRD) $(LINUX_GUEST_INITRD) $(DATA_DISK)
	python3 scripts/bench.py --elf $(ELF) --iso $(ISO) $(if $(ONLY),--only $(ONLY))

clean:
	rm -rf $(BUILD) .build
