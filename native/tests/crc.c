/* Known-answer test of the engine's CRC32C (src/crc32c.c): the standard
 * check value, and the running form against the bitwise definition on
 * random buffers of many lengths and alignments (the interleaved lanes of
 * long buffers must give the same values as images written before them).
 * Prints "PASS crc32c ..." and exits 0, or "FAIL ..." and exits 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "image.h"

static uint32_t bitwise(uint32_t crc, const unsigned char *p, uint64_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return ~crc;
}

int main(void)
{
	const size_t max = 200000;
	unsigned char *b = malloc(max + 16);
	uint32_t seed = 12345;
	int n = 0;
	if (!b)
		return 2;
	for (size_t i = 0; i < max + 16; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (unsigned char)(seed >> 16);
	}
	if (crc32c(0, "123456789", 9) != 0xE3069283u) {
		printf("FAIL check value %08x, expected e3069283\n", crc32c(0, "123456789", 9));
		return 1;
	}
	for (size_t len = 0; len <= max; len = len < 64 ? len + 1 : len * 5 / 4 + 8) {
		for (size_t off = 0; off < 16; off += 5) {
			uint32_t init = (uint32_t)(len * 2654435761u);
			size_t cut = len / 3;
			uint32_t want = bitwise(init, b + off, len);
			uint32_t one = crc32c(init, b + off, len);
			uint32_t two = crc32c(crc32c(init, b + off, cut), b + off + cut, len - cut);
			if (one != want || two != want) {
				printf("FAIL length %zu offset %zu: %08x / %08x, expected %08x\n", len, off, one, two, want);
				return 1;
			}
			n++;
		}
	}
	printf("PASS crc32c %d buffers\n", n);
	return 0;
}
