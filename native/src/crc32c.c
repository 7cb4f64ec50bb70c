/* crc32c (Castagnoli): SSE4.2 instruction when the CPU has it, else a table.
 * Written here so the engine has no dependencies. */
#include <cpuid.h>
#include <stdint.h>
#include <string.h>
#include "image.h"

#define POLY 0x82F63B78u
/* Long buffers run as three interleaved lanes of LANE bytes (the crc32
 * instruction has a latency of 3 and a throughput of 1 per cycle). */
#define LANE 8192u

static uint32_t table[256];
/* shift[k][b]: the CRC register after LANE zero bytes, starting from b << 8k */
static uint32_t shift[4][256];
static int have_hw = -1; /* -1 unknown, 0 no, 1 yes; races are benign (same values) */

/* GF(2) 32x32 matrices as 32 columns: m[i] is the image of bit i. */
static uint32_t gf2_apply(const uint32_t *m, uint32_t v)
{
	uint32_t r = 0;
	for (int i = 0; v; i++, v >>= 1)
		if (v & 1)
			r ^= m[i];
	return r;
}

static void gf2_square(uint32_t *out, const uint32_t *m)
{
	for (int i = 0; i < 32; i++)
		out[i] = gf2_apply(m, m[i]);
}

static void init(void)
{
	unsigned a, b, c, d;
	uint32_t op[32], sq[32];
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;
		for (int k = 0; k < 8; k++)
			v = (v >> 1) ^ (POLY & (0u - (v & 1)));
		table[i] = v;
	}
	/* one zero bit: bit 0 goes to POLY, bit i to bit i-1; squared up to 8*LANE bits */
	op[0] = POLY;
	for (int i = 1; i < 32; i++)
		op[i] = 1u << (i - 1);
	for (uint32_t bits = 1; bits < 8 * LANE; bits *= 2) {
		gf2_square(sq, op);
		memcpy(op, sq, sizeof(op));
	}
	for (int k = 0; k < 4; k++)
		for (uint32_t v = 0; v < 256; v++)
			shift[k][v] = gf2_apply(op, v << (8 * k));
	have_hw = (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2)) ? 1 : 0;
}

static uint32_t shift_lane(uint32_t c)
{
	return shift[0][c & 0xff] ^ shift[1][(c >> 8) & 0xff] ^ shift[2][(c >> 16) & 0xff] ^ shift[3][c >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, uint64_t len)
{
	uint64_t c = crc;
	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	/* CRC(c, A B C) = shift(shift(CRC(c, A)) ^ CRC(0, B)) ^ CRC(0, C) for lanes of LANE bytes */
	while (len >= 3 * LANE) {
		uint64_t c1 = 0, c2 = 0;
		for (uint32_t i = 0; i < LANE; i += 8) {
			uint64_t v0, v1, v2;
			memcpy(&v0, p + i, 8);
			memcpy(&v1, p + LANE + i, 8);
			memcpy(&v2, p + 2 * LANE + i, 8);
			c = __builtin_ia32_crc32di(c, v0);
			c1 = __builtin_ia32_crc32di(c1, v1);
			c2 = __builtin_ia32_crc32di(c2, v2);
		}
		c = shift_lane(shift_lane((uint32_t)c) ^ (uint32_t)c1) ^ (uint32_t)c2;
		p += 3 * LANE;
		len -= 3 * LANE;
	}
	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

/* Running form: pass 0 first, then the previous result. */
uint32_t crc32c(uint32_t crc, const void *buf, uint64_t len)
{
	const unsigned char *p = buf;
	if (have_hw < 0)
		init();
	crc = ~crc;
	if (have_hw)
		crc = crc_hw(crc, p, len);
	else
		while (len--)
			crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *img_rec_name(unsigned type)
{
	switch (type) {
	case 1: return "HEADER";
	case 2: return "MM";
	case 3: return "VMA";
	case 4: return "PAGES";
	case 5: return "THREAD";
	case 6: return "SIGACTS";
	case 7: return "FD";
	case 8: return "PROC";
	case 9: return "PIPE";
	case 10: return "UNIX";
	case 11: return "KOBJ";
	case 15: return "END";
	default: return "UNKNOWN";
	}
}
