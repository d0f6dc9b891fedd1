/* SPDX-License-Identifier: Apache-2.0 */
/* RSA HTTP-signature verification and Tyk's rules for naming the public key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "gw_hmac_rsa.h"

static char *pub_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    char *out = calloc(1, (size_t)n + 1);
    memcpy(out, p, (size_t)n);
    BIO_free(b);
    return out;
}

static char *sign_b64(EVP_PKEY *k, const char *msg)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t n = sizeof(sig);
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &n, (const unsigned char *)msg, strlen(msg)), 1);
    EVP_MD_CTX_free(md);
    char *out = calloc(1, 4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, sig, (int)n);
    return out;
}

static void test_rsa_verifies(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_RSA_gen(2048), *k2 = EVP_RSA_gen(2048);
    char *pem = pub_pem(k), *sig = sign_b64(k, "date: x"), *sig2 = sign_b64(k2, "date: x");
    size_t n = strlen(pem);
    assert_int_equal(gw_rsa_verify_pem(pem, n, "date: x", 7, sig), GW_RSA_OK);
    assert_int_equal(gw_rsa_verify_pem(pem, n, "date: y", 7, sig), GW_RSA_BAD_SIGNATURE);
    assert_int_equal(gw_rsa_verify_pem(pem, n, "date: x", 7, sig2), GW_RSA_BAD_SIGNATURE);
    assert_int_equal(gw_rsa_verify_pem(pem, n, "date: x", 7, "%%%"), GW_RSA_BAD_SIGNATURE);
    assert_int_equal(gw_rsa_verify_pem(pem, n, "date: x", 7, ""), GW_RSA_BAD_SIGNATURE);
    assert_int_equal(gw_rsa_verify_pem(pem, n, "date: x", 7, NULL), GW_RSA_BAD_SIGNATURE);
    /* Leading text before the PEM block is skipped, as Go's pem.Decode does. */
    char *junk = calloc(1, n + 16);
    memcpy(junk, "junk\n", 5);
    memcpy(junk + 5, pem, n);
    assert_int_equal(gw_rsa_verify_pem(junk, n + 5, "date: x", 7, sig), GW_RSA_OK);
    free(junk);
    free(pem);
    free(sig);
    free(sig2);
    EVP_PKEY_free(k);
    EVP_PKEY_free(k2);
}

static void test_key_errors(void **state)
{
    (void)state;
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    char *pem = pub_pem(ec);
    assert_int_equal(gw_rsa_verify_pem(pem, strlen(pem), "a", 1, "AAAA"), GW_RSA_NOT_RSA);
    free(pem);
    EVP_PKEY_free(ec);
    static const char notpem[] = "not a key";
    assert_int_equal(gw_rsa_verify_pem(notpem, strlen(notpem), "a", 1, "AAAA"), GW_RSA_NO_KEY);
    /* The first block is read as a public key whatever its type; other content fails. */
    static const char cert[] = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
    assert_int_equal(gw_rsa_verify_pem(cert, strlen(cert), "a", 1, "AAAA"), GW_RSA_NO_KEY);
    assert_int_equal(gw_rsa_verify_pem(NULL, 0, "a", 1, "AAAA"), GW_RSA_NO_KEY);
}

static void test_cert_id_kinds(void **state)
{
    (void)state;
    assert_true(gw_cert_id_is_stored("ab12cd"));
    assert_true(
        gw_cert_id_is_stored("5e9d9544a1dcd60001d0ed20"
                             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_false(gw_cert_id_is_stored("default0123456789abcdef"));
    assert_false(gw_cert_id_is_stored("abc")); /* odd length: hex.DecodeString fails */
    assert_false(gw_cert_id_is_stored("/etc/key.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_verifies),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_cert_id_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
