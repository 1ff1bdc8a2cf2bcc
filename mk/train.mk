# mk/train.mk - build flags of the training kernels (tl-train -m bert).
# -fno-math-errno lets gcc vectorise sqrtf in the AdamW loop (arguments are
# never negative, so errno is never set anyway).
$(BUILD)/obj/kernels/cpu/train_kernels.o: CFLAGS_ALL += -fno-math-errno
