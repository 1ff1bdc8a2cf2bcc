# mk/mpi.mk - data-parallel training over Open MPI (tl/dist.h).
# MPI=1 (the default when mpicc is found) compiles lib/dist/mpi.c for real
# and defines TL_HAVE_MPI; only tl-train and libtl.so link libmpi. MPI=0
# (the default without mpicc) leaves lib/dist/mpi.c an empty unit, so
# libtl has no MPI symbol and the tools are unchanged. Switching MPI on a
# built tree: `make clean` first (object files do not record the flag).
MPICC ?= mpicc
MPI ?= $(shell command -v $(MPICC) >/dev/null 2>&1 && echo 1 || echo 0)
ifeq ($(MPI),1)
MPI_CFLAGS := $(shell $(MPICC) --showme:compile 2>/dev/null) -DTL_HAVE_MPI
MPI_LIBS := $(shell $(MPICC) --showme:link 2>/dev/null)
CFLAGS_ALL += $(MPI_CFLAGS)
$(BUILD)/bin/tl-train: LDLIBS_ALL += $(MPI_LIBS)
$(BUILD)/libtl.so: LDLIBS_ALL += $(MPI_LIBS)
endif
