/* tests/unit/test_xfer_pattern.c — the byte pattern of the simulator's checked
 * transfers (sim/programs/xfer.c): the 16-bytes-at-a-time fill and check must agree
 * with the byte-by-byte definition at every offset, length and block boundary, and the
 * check must catch any one wrong byte. xfer.c is included with its main renamed, so
 * its own static functions are what is tested. */
#define main xfer_program_main
int xfer_program_main(int argc, char **argv);
#include "sim/programs/xfer.c"
#undef main

#include "cunit_main.h"

#define SPAN 2048u

static uint64_t test_rand(uint64_t *s) {
    return next_rand(s);
}

/* Offsets around 512-byte block edges and far out (the >> 9 term), every small length. */
static void test_fill_matches_definition(void) {
    static uint8_t buf[SPAN + 32];
    uint64_t rs = 42;
    unsigned mismatches = 0;
    for (unsigned t = 0; t < 3000; t++) {
        uint64_t off = t < 1024 ? t : test_rand(&rs) >> (test_rand(&rs) % 64);
        uint32_t len = t < 1024 ? (t * 7) % 700 : (uint32_t)(test_rand(&rs) % SPAN);
        uint32_t conn = t % 16;
        unsigned dir = t % 2;
        memset(buf, 0xee, sizeof(buf));
        pattern_fill(buf, len, conn, dir, off);
        for (uint32_t i = 0; i < len; i++)
            mismatches += buf[i] != pattern(conn, dir, off + i);
        for (uint32_t i = len; i < sizeof(buf); i++)
            mismatches += buf[i] != 0xee; /* nothing written past the end */
        CU_ASSERT_TRUE(pattern_matches(buf, len, conn, dir, off));
    }
    CU_ASSERT_EQUAL(mismatches, 0);
}

/* Any one flipped bit anywhere, wrong connection, wrong direction or wrong offset. */
static void test_check_catches_errors(void) {
    static uint8_t buf[SPAN];
    uint64_t rs = 7;
    for (unsigned t = 0; t < 2000; t++) {
        uint64_t off = test_rand(&rs) % (1u << 24);
        uint32_t len = 1 + (uint32_t)(test_rand(&rs) % SPAN);
        pattern_fill(buf, len, 3, 1, off);
        uint32_t at = (uint32_t)(test_rand(&rs) % len);
        buf[at] ^= (uint8_t)(1u << (t % 8));
        CU_ASSERT_FALSE(pattern_matches(buf, len, 3, 1, off));
        buf[at] ^= (uint8_t)(1u << (t % 8));
        CU_ASSERT_TRUE(pattern_matches(buf, len, 3, 1, off));
        if (len >= 16) {
            CU_ASSERT_FALSE(pattern_matches(buf, len, 4, 1, off));
            CU_ASSERT_FALSE(pattern_matches(buf, len, 3, 0, off));
            CU_ASSERT_FALSE(pattern_matches(buf, len, 3, 1, off + 1));
        }
    }
}

static const struct mg_test_case cases[] = {
    {"vector fill equals the byte-by-byte pattern", test_fill_matches_definition},
    {"vector check catches any wrong byte", test_check_catches_errors},
    {NULL, NULL},
};

int main(void) {
    return mg_run_tests("xfer_pattern", cases);
}
