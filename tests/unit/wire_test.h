/* tests/unit/wire_test.h — shared helpers for the src/wire CUnit suites.
 * The suites live in one test program (test_wire) split by protocol; each file
 * exports one function that registers its suite. */
#ifndef MARGAY_TESTS_WIRE_TEST_H
#define MARGAY_TESTS_WIRE_TEST_H

#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Each returns 0 or a CUnit error code. */
int wire_register_cksum_suite(void);
int wire_register_l2l3_suite(void);
int wire_register_tcp_suite(void);
int wire_register_pcap_suite(void);
int wire_register_robust_suite(void);

/* A heap copy of exactly len bytes, so that a parser reading past len trips
 * AddressSanitizer in the sanitizer build. Free with free(). */
uint8_t *wire_test_dup(const void *p, size_t len);

#endif /* MARGAY_TESTS_WIRE_TEST_H */
