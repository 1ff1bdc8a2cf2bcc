/* kernels/cpu/backend.c - the CPU backend's table (include/tl/kernels.h)
 * and the backend registry: lookup by name, enumeration, and the tools'
 * one selection point. */
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/lowprec.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

static const tl_kernels cpu = {
	.name = "cpu",
	.host_memory = 1,
	.alloc = tl_cpu_alloc,
	.free = tl_cpu_free,
	.to_device = tl_cpu_copy,
	.to_host = tl_cpu_copy,
	.copy = tl_cpu_copy,
	.memset = tl_cpu_memset,
	.set_threads = tl_cpu_set_threads,
	.synchronize = tl_cpu_synchronize,
	.matmul_forward = tl_cpu_matmul_forward,
	.matmul_prepare = tl_cpu_gemm_prepare,
	.matmul_unprepare = tl_cpu_gemm_unprepare,
	.matmul_forward_prepared = tl_cpu_matmul_forward_prepared,
	.matmul_prepare_prec = tl_cpu_matmul_prepare_prec,
	.matmul_prepare_q8 = tl_cpu_matmul_prepare_q8,
	.matmul_forward_prec = tl_cpu_matmul_forward_prec,
	.matmul_free_prec = tl_cpu_matmul_free_prec,
	.matmul_update_fp32 = tl_cpu_matmul_update_fp32,
	.matmul_prepare_bf16_train = tl_cpu_matmul_prepare_bf16_train,
	.matmul_update_bf16_train = tl_cpu_matmul_update_bf16_train,
	.matmul_backward_bf16 = tl_cpu_matmul_backward_bf16,
	.embedding_forward = tl_cpu_embedding_forward,
	.layernorm_forward = tl_cpu_layernorm_forward,
	.residual_forward = tl_cpu_residual_forward,
	.gelu_forward = tl_cpu_gelu_forward,
	.bias_gelu_forward = tl_cpu_bias_gelu_forward,
	.add_layernorm_forward = tl_cpu_add_layernorm_forward,
	.add_layernorm_forward_bf16 = tl_cpu_add_layernorm_forward_bf16,
	.matmul_forward_bf16io = tl_cpu_matmul_forward_bf16io,
	.attention_forward = tl_cpu_attention_forward,
	.pack_rows = tl_cpu_pack_rows,
	.attention_forward_packed = tl_cpu_attention_forward_packed,
	.attention_forward_packed_bf16 = tl_cpu_attention_forward_packed_bf16,
	.pooler_forward = tl_cpu_pooler_forward,
	.pool_forward = tl_cpu_pool_forward,
	.l2norm_forward = tl_cpu_l2norm_forward,
	.matmul_backward = tl_cpu_matmul_backward,
	.layernorm_backward = tl_cpu_layernorm_backward,
	.layernorm_backward_dropout = tl_cpu_layernorm_backward_dropout,
	.dropout_add_layernorm_forward = tl_cpu_dropout_add_layernorm_forward,
	.matmul_forward_gelu_keep = tl_cpu_matmul_forward_gelu_keep,
	.matmul_backward_gelu = tl_cpu_matmul_backward_gelu,
	.gelu_backward = tl_cpu_gelu_backward,
	.tanh_backward = tl_cpu_tanh_backward,
	.embedding_backward = tl_cpu_embedding_backward,
	.attention_forward_train = tl_cpu_attention_forward_train,
	.attention_backward = tl_cpu_attention_backward,
	.lstm_forward = tl_cpu_lstm_forward,
	.lstm_backward = tl_cpu_lstm_backward,
	.dropout_forward = tl_cpu_dropout_forward,
	.dropout_backward = tl_cpu_dropout_backward,
	.softmax_xent = tl_cpu_softmax_xent,
	.sigmoid_bce = tl_cpu_sigmoid_bce,
	.lm_xent = tl_cpu_lm_xent,
	.adamw_update = tl_cpu_adamw_update,
	.adamw_update_zero = tl_cpu_adamw_update_zero,
	.sgd_update = tl_cpu_sgd_update,
	.sumsq = tl_cpu_sumsq,
	.sumsq_live = tl_cpu_sumsq_live,
	.scale = tl_cpu_scale,
	.nonfinite = tl_cpu_nonfinite,
};

/* Every backend built in, in order of preference; NULL-terminated. */
static const tl_kernels *const backends[] = {&cpu, NULL};

const tl_kernels *tl_kernels_cpu(void)
{
	return &cpu;
}

const tl_kernels *tl_kernels_at(int i)
{
	if (i < 0 || i >= (int)(sizeof backends / sizeof *backends) - 1)
		return NULL;
	return backends[i];
}

const tl_kernels *tl_kernels_get(const char *name)
{
	if (!name)
		return &cpu;
	for (int i = 0; backends[i]; i++)
		if (!strcmp(name, backends[i]->name))
			return backends[i];
	return NULL;
}

const tl_kernels *tl_kernels_select(const char *name, char *err, size_t errsz)
{
	if (!name || !*name)
		name = getenv("TL_DEVICE");
	if (!name || !*name)
		name = "cpu";
	const tl_kernels *k = tl_kernels_get(name);
	if (!k) {
		char avail[128] = "";
		for (int i = 0; backends[i]; i++) {
			if (i)
				strncat(avail, ", ", sizeof avail - strlen(avail) - 1);
			strncat(avail, backends[i]->name, sizeof avail - strlen(avail) - 1);
		}
		tl_errf(err, errsz, "device '%s' is not built in (available: %s)", name, avail);
	}
	return k;
}
