/* test_safetensors.c - the checked reader: good files, dtype conversion,
 * and each kind of corrupt header it must refuse with a message naming
 * the tensor. */
#include "testhelp.h"
#include "tl/safetensors.h"
#include "tl/util.h"

#include <stdlib.h>
#include <string.h>

/* build u64 length + header + data into buf; returns the size */
static size_t mk(unsigned char *buf, const char *hdr, const void *data, size_t dlen)
{
	size_t n = strlen(hdr);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
	memcpy(buf + 8, hdr, n);
	if (dlen)
		memcpy(buf + 8 + n, data, dlen);
	return 8 + n + dlen;
}

static int opens(const char *hdr, size_t dlen, char *err)
{
	static unsigned char buf[4096], data[1024];
	size_t n = mk(buf, hdr, data, dlen);
	tl_st_file f;
	int rc = tl_st_open_mem(&f, buf, n, "x.safetensors", err, 512);
	if (rc == 0)
		tl_st_close(&f);
	return rc;
}

int main(void)
{
	unsigned char buf[4096];
	char err[512];
	tl_st_file f;
	/* F32 [2], F16 [3], BF16 [2], I64 [1] ignored but checked */
	unsigned char data[4 * 2 + 2 * 3 + 2 * 2 + 8];
	float f32[2] = {1.5f, -2.25f};
	uint16_t f16[3] = {0x3c00, 0xc000, 0x0001}; /* 1, -2, smallest subnormal */
	uint16_t bf16[2] = {0x3f80, 0x4049};         /* 1, 3.140625 */
	memcpy(data, f32, 8);
	memcpy(data + 8, f16, 6);
	memcpy(data + 14, bf16, 4);
	memset(data + 18, 0, 8);
	const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},"
			  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
			  "\"b\":{\"dtype\":\"F16\",\"shape\":[3,1],\"data_offsets\":[8,14]},"
			  "\"c\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[14,18]},"
			  "\"position_ids\":{\"dtype\":\"I64\",\"shape\":[1,1],\"data_offsets\":[18,26]}}";
	size_t n = mk(buf, hdr, data, sizeof data);
	CHECK(tl_st_open_mem(&f, buf, n, "ok.safetensors", err, sizeof err) == 0);
	CHECK_EQ_INT(f.n, 4);
	float out[3];
	const tl_st_tensor *t = tl_st_find(&f, "a");
	CHECK(t && t->numel == 2 && tl_st_read_f32(&f, t, out, err, sizeof err) == 0);
	CHECK(out[0] == 1.5f && out[1] == -2.25f);
	t = tl_st_find(&f, "b");
	CHECK(t && t->ndim == 2 && t->shape[0] == 3 && tl_st_read_f32(&f, t, out, err, sizeof err) == 0);
	CHECK(out[0] == 1.0f && out[1] == -2.0f);
	CHECK_NEAR(out[2], 5.9604645e-8, 1e-12);
	t = tl_st_find(&f, "c");
	CHECK(t && tl_st_read_f32(&f, t, out, err, sizeof err) == 0);
	CHECK(out[0] == 1.0f && out[1] == 3.140625f);
	t = tl_st_find(&f, "position_ids");
	CHECK(t && tl_st_read_f32(&f, t, out, err, sizeof err) < 0);
	CHECK(strstr(err, "position_ids") && strstr(err, "I64"));
	CHECK(tl_st_find(&f, "zzz") == NULL);
	tl_st_close(&f);

	/* truncated: the data section ends before the last tensor */
	CHECK(tl_st_open_mem(&f, buf, n - 1, "t.safetensors", err, sizeof err) < 0);
	CHECK(strstr(err, "t.safetensors") && strstr(err, "position_ids") && strstr(err, "out of range"));
	/* shorter than the length prefix, and a header length beyond the file */
	CHECK(tl_st_open_mem(&f, buf, 5, "s.safetensors", err, sizeof err) < 0);
	CHECK(strstr(err, "s.safetensors") != NULL);
	CHECK(tl_st_open_mem(&f, buf, 40, "h.safetensors", err, sizeof err) < 0);
	CHECK(strstr(err, "header length") != NULL);

	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, err) < 0);
	CHECK(strstr(err, "overlap") && strstr(err, "'a'") && strstr(err, "'b'"));
	/* a big tensor covering a later one behind an empty one */
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
		    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
		    "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 16, err) < 0);
	CHECK(strstr(err, "overlap") != NULL);
	CHECK(opens("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, err) < 0);
	CHECK(strstr(err, "unknown dtype 'F33'") && strstr(err, "'a'"));
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, err) < 0);
	CHECK(strstr(err, "8 bytes for 3 elements") != NULL);
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, err) < 0);
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, err) < 0);
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}",
		    8, err) < 0);
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, err) < 0);
	CHECK(opens("{\"a\":[1,2]}", 0, err) < 0);
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, err) < 0);
	CHECK(strstr(err, "not valid JSON") != NULL);
	CHECK(opens("[1]", 0, err) < 0);
	CHECK(opens("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{}}", 8, err) < 0);
	CHECK(opens("{}", 0, err) == 0);

	/* a real file through mmap, and a missing one */
	CHECK(tl_st_open(&f, "/nonexistent/model.safetensors", err, sizeof err) < 0);
	CHECK(strstr(err, "cannot open /nonexistent/model.safetensors") != NULL);
	TEST_REPORT("test_safetensors");
}
