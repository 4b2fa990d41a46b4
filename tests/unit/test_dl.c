/* The dlopen loader: a library and its symbols, or which one is missing. */
#include <check.h>
#include <string.h>

#include "dl.h"
#include "util.h"

Suite *dl_suite(void);

START_TEST(loads_symbols)
{
  size_t (*len)(const char *) = NULL;
  int (*cmp)(const char *, const char *) = NULL;
  const struct dl_sym syms[] = {DL_SYM(len, "strlen"), DL_SYM(cmp, "strcmp")};
  const char *missing = "x", *why = "x";
  void *h = dl_open("libc.so.6", syms, ARRAY_SIZE(syms), &missing, &why);

  ck_assert_ptr_nonnull(h);
  ck_assert_ptr_null(missing);
  ck_assert_ptr_null(why);
  ck_assert_uint_eq(len("four"), 4);
  ck_assert_int_eq(cmp("a", "a"), 0);
}
END_TEST

START_TEST(names_the_missing_symbol)
{
  void (*a)(void) = NULL, (*b)(void) = NULL;
  const struct dl_sym syms[] = {DL_SYM(a, "strlen"), DL_SYM(b, "ctrx_no_such_symbol")};
  const char *missing = NULL, *why = NULL;

  ck_assert_ptr_null(dl_open("libc.so.6", syms, ARRAY_SIZE(syms), &missing, &why));
  ck_assert_str_eq(missing, "ctrx_no_such_symbol");
}
END_TEST

START_TEST(says_why_a_library_is_missing)
{
  void (*a)(void) = NULL;
  const struct dl_sym syms[] = {DL_SYM(a, "f")};
  const char *missing = "x", *why = NULL;

  ck_assert_ptr_null(dl_open("libctrx-no-such.so.0", syms, ARRAY_SIZE(syms), &missing, &why));
  ck_assert_ptr_null(missing);
  ck_assert_ptr_nonnull(why);
  ck_assert_ptr_nonnull(strstr(why, "libctrx-no-such.so.0"));
  ck_assert_ptr_null(a);
}
END_TEST

Suite *
dl_suite(void)
{
  Suite *s = suite_create("dl");
  TCase *tc = tcase_create("load");

  tcase_add_test(tc, loads_symbols);
  tcase_add_test(tc, names_the_missing_symbol);
  tcase_add_test(tc, says_why_a_library_is_missing);
  suite_add_tcase(s, tc);
  return s;
}
