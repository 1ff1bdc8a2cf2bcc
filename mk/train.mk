# mk/train.mk - build flags of the kernel files that hold training code.
# -fno-math-errno lets gcc vectorise sqrtf in the AdamW loop (arguments are
# never negative, so errno is never set anyway); the files that share a
# file with those kernels (forward and backward of an op side by side) get
# it too, as the former train_kernels.c did.
TL_NO_ERRNO := matmul layernorm gelu embedding dropout loss optimizer elementwise
$(patsubst %,$(BUILD)/obj/kernels/cpu/%.o,$(TL_NO_ERRNO)): CFLAGS_ALL += -fno-math-errno
