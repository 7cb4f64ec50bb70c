/* crc32c (Castagnoli): SSE4.2 instruction when the CPU has it, else a table.
 * Written here so the engine has no dependencies. */
#include <cpuid.h>
#include <stdint.h>
#include <string.h>
#include "image.h"

static uint32_t table[256];
static int have_hw = -1; /* -1 unknown, 0 no, 1 yes; races are benign (same values) */

static void init(void)
{
	unsigned a, b, c, d;
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t v = i;
		for (int k = 0; k < 8; k++)
			v = (v >> 1) ^ (0x82F63B78u & (0u - (v & 1)));
		table[i] = v;
	}
	have_hw = (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2)) ? 1 : 0;
}

__attribute__((target("sse4.2")))
static uint32_t crc_hw(uint32_t crc, const unsigned char *p, uint64_t len)
{
	uint64_t c = crc;
	while (len && ((uintptr_t)p & 7)) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
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
	case 15: return "END";
	default: return "UNKNOWN";
	}
}
