# mk/train.mk - build flags of the CPU kernel files that hold training code.
# -fno-math-errno lets gcc vectorise sqrtf in the AdamW loop (arguments are
# never negative, so errno is never set anyway). Forward and backward of an
# op share a file; the flag goes to every file with training kernels except
# layernorm.c: its forward's sqrtf compiles differently under the flag,
# while its backward (no libm call) compiles to the same code either way,
# so without it both keep the code they had before the split. In the
# other files the flag changes nothing but the training kernels.
TL_NO_ERRNO := matmul gelu embedding dropout loss optimizer elementwise
$(patsubst %,$(BUILD)/obj/kernels/cpu/%.o,$(TL_NO_ERRNO)): CFLAGS_ALL += -fno-math-errno
