/* The TOML parser: every construct, and every error with its position. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "toml.h"
#include "util.h"

Suite *toml_suite(void);

/* A compact rendering of a tree, keys in file order:
 * {a=1,b="x",c=[1.5,true],d={e=dt:1979-05-27}} */
static void
render(struct buf *b, const struct toml_value *v)
{
  switch (v->type) {
  case TOML_TABLE:
    buf_add(b, "{", 1);
    for (size_t i = 0; i < toml_len(v); i++) {
      if (i)
        buf_add(b, ",", 1);
      buf_addstr(b, toml_key_at(v, i));
      buf_add(b, "=", 1);
      render(b, toml_at(v, i));
    }
    buf_add(b, "}", 1);
    break;
  case TOML_ARRAY:
    buf_add(b, "[", 1);
    for (size_t i = 0; i < toml_len(v); i++) {
      if (i)
        buf_add(b, ",", 1);
      render(b, toml_at(v, i));
    }
    buf_add(b, "]", 1);
    break;
  case TOML_STRING:
    buf_add(b, "\"", 1);
    for (size_t i = 0; i < v->u.str.len; i++) {
      unsigned char c = (unsigned char)v->u.str.ptr[i];
      if (c < 0x20)
        buf_addf(b, "<%02x>", c);
      else
        buf_add(b, &v->u.str.ptr[i], 1);
    }
    buf_add(b, "\"", 1);
    break;
  case TOML_INTEGER:
    buf_addf(b, "%lld", (long long)v->u.integer);
    break;
  case TOML_FLOAT:
    if (isnan(v->u.fp))
      buf_addstr(b, "nan");
    else if (isinf(v->u.fp))
      buf_addstr(b, v->u.fp < 0 ? "-inf" : "inf");
    else
      buf_addf(b, "f%.17g", v->u.fp);
    break;
  case TOML_BOOL:
    buf_addstr(b, v->u.boolean ? "true" : "false");
    break;
  case TOML_DATETIME:
    buf_addf(b, "odt:%s", v->u.str.ptr);
    break;
  case TOML_LOCAL_DATETIME:
    buf_addf(b, "ldt:%s", v->u.str.ptr);
    break;
  case TOML_LOCAL_DATE:
    buf_addf(b, "ld:%s", v->u.str.ptr);
    break;
  case TOML_LOCAL_TIME:
    buf_addf(b, "lt:%s", v->u.str.ptr);
    break;
  }
}

static const struct {
  const char *doc;
  const char *want;
} valid[] = {
    /* comments, blank lines, empty document */
    {"", "{}"},
    {"# only a comment\n\n   \n\t# another\n", "{}"},
    {"\xEF\xBB\xBF"
     "a = 1\n",
     "{a=1}"},
    {"a = 1 # trailing\r\nb = 2\r\n", "{a=1,b=2}"},
    /* keys: bare, quoted, literal, dotted, whitespace around dots, empty quoted */
    {"bare_key-1 = 1\n1234 = 2\n", "{bare_key-1=1,1234=2}"},
    {"\"quoted key\" = 1\n'lit.eral' = 2\n\"\" = 3\n", "{quoted key=1,lit.eral=2,=3}"},
    {"a.b.c = 1\na . b . d = 2\n", "{a={b={c=1,d=2}}}"},
    {"site.\"google.com\" = true\n", "{site={google.com=true}}"},
    {"3.14159 = 'pi'\n", "{3={14159=\"pi\"}}"},
    {"\"\\u0061\" = 1\n", "{a=1}"},
    /* strings */
    {"s = \"tab\\there \\\"q\\\" \\\\ \\b\\f\\n\\r\"\n",
     "{s=\"tab<09>here \"q\" \\ <08><0c><0a><0d>\"}"},
    {"s = \"\\u00e9\\U0001F600\\u0000x\"\n", "{s=\"\xC3\xA9\xF0\x9F\x98\x80<00>x\"}"},
    {"s = 'C:\\Users\\nodejs'\n", "{s=\"C:\\Users\\nodejs\"}"},
    {"s = \"\"\"\nline1\nline2\"\"\"\n", "{s=\"line1<0a>line2\"}"},
    {"s = \"\"\"\r\nline1\r\nline2\"\"\"\n", "{s=\"line1<0a>line2\"}"},
    {"s = \"\"\"one \\\n    two \\\n\n   three\"\"\"\n", "{s=\"one two three\"}"},
    {"s = \"\"\"a \\   \n b\"\"\"\n", "{s=\"a b\"}"},
    {"s = \"\"\"x\"\"\"\"\n", "{s=\"x\"\"}"},
    {"s = \"\"\"x\"\"\"\"\"\n", "{s=\"x\"\"\"}"},
    {"s = \"\"\"a \"\" b\"\"\"\n", "{s=\"a \"\" b\"}"},
    {"s = '''\nraw \\n 'q' ''\n'''\n", "{s=\"raw \\n 'q' ''<0a>\"}"},
    {"s = ''''x''''\n", "{s=\"'x'\"}"},
    {"s = \"\"\n", "{s=\"\"}"},
    {"s = \"\xE4\xB8\xAD\xE6\x96\x87\"\n", "{s=\"\xE4\xB8\xAD\xE6\x96\x87\"}"},
    /* integers */
    {"a = +99\nb = 42\nc = 0\nd = -17\ne = -0\nf = +0\n", "{a=99,b=42,c=0,d=-17,e=0,f=0}"},
    {"a = 1_000\nb = 5_349_221\nc = 1_2_3_4_5\n", "{a=1000,b=5349221,c=12345}"},
    {"a = 0xDEADBEEF\nb = 0xdead_beef\nc = 0o755\nd = 0b1101_0110\n",
     "{a=3735928559,b=3735928559,c=493,d=214}"},
    {"a = 9223372036854775807\nb = -9223372036854775808\nc = 0x7fffffffffffffff\n",
     "{a=9223372036854775807,b=-9223372036854775808,c=9223372036854775807}"},
    /* floats */
    {"a = +1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\n",
     "{a=f1,b=f3.1415000000000002,c=f-0.01,d=f4.9999999999999996e+22,e=f1000000,f=f-0.02,g=f6."
     "6259999999999998e-34}"},
    {"a = 224_617.445_991_228\nb = 1e1_0\n", "{a=f224617.44599122801,b=f10000000000}"},
    {"a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\n",
     "{a=inf,b=inf,c=-inf,d=nan,e=nan,f=nan}"},
    {"a = 0.0\nb = -0e0\n", "{a=f0,b=f-0}"},
    /* booleans */
    {"t = true\nf = false\n", "{t=true,f=false}"},
    /* date-times */
    {"a = 1979-05-27T07:32:00Z\nb = 1979-05-27T00:32:00-07:00\nc = "
     "1979-05-27T00:32:00.999999+07:00\n",
     "{a=odt:1979-05-27T07:32:00Z,b=odt:1979-05-27T00:32:00-07:00,c=odt:1979-05-27T00:32:00.999999+"
     "07:00}"},
    {"a = 1979-05-27 07:32:00Z\nb = 1979-05-27t07:32:00z\n",
     "{a=odt:1979-05-27 07:32:00Z,b=odt:1979-05-27t07:32:00z}"},
    {"a = 1979-05-27T07:32:00\nb = 1979-05-27T00:32:00.999999\n",
     "{a=ldt:1979-05-27T07:32:00,b=ldt:1979-05-27T00:32:00.999999}"},
    {"a = 1979-05-27\nb = 2000-02-29 # leap\n", "{a=ld:1979-05-27,b=ld:2000-02-29}"},
    {"a = 07:32:00\nb = 00:32:00.999999\n", "{a=lt:07:32:00,b=lt:00:32:00.999999}"},
    /* leap years by the Gregorian rule: every 4th, not every 100th, every 400th */
    {"a = 2004-02-29\nb = 1600-02-29\n", "{a=ld:2004-02-29,b=ld:1600-02-29}"},
    /* TOML 1.0's ABNF allows second 60 (time-second: "00-60 based on leap
     * second rules"); which minutes had one is not the parser's to know */
    {"a = 23:59:60\nb = 1990-12-31T23:59:60Z\n", "{a=lt:23:59:60,b=odt:1990-12-31T23:59:60Z}"},
    /* tabs are comment text; valid multi-byte characters at the very end */
    {"# a\tb\n# \xF0\x9F\x98\x80", "{}"},
    {"a = [1979-05-27, 07:32:00]\n", "{a=[ld:1979-05-27,lt:07:32:00]}"},
    /* arrays */
    {"a = []\nb = [ 1, 2, 3, ]\nc = [\"red\", 'yellow']\n",
     "{a=[],b=[1,2,3],c=[\"red\",\"yellow\"]}"},
    {"a = [ [1, 2], [\"a\", 'b', 'c'] ]\n", "{a=[[1,2],[\"a\",\"b\",\"c\"]]}"},
    {"a = [ 0.1, 1, \"x\", { k = 1 } ]\n", "{a=[f0.10000000000000001,1,\"x\",{k=1}]}"},
    {"a = [\n  1, # one\n  # nothing\n  2\n  ,\n]\n", "{a=[1,2]}"},
    /* inline tables */
    {"name = { first = \"Tom\", last = \"Preston-Werner\" }\n",
     "{name={first=\"Tom\",last=\"Preston-Werner\"}}"},
    {"point = {x=1,y=2}\nanimal = { type.name = \"pug\" }\ne = {}\n",
     "{point={x=1,y=2},animal={type={name=\"pug\"}},e={}}"},
    {"a = { b = { c = [ { d = 1 } ] } }\n", "{a={b={c=[{d=1}]}}}"},
    /* tables */
    {"[table]\nkey = 1\n[table-2]\nkey = 2\n", "{table={key=1},table-2={key=2}}"},
    {"[dog.\"tater.man\"]\ntype.name = \"pug\"\n", "{dog={tater.man={type={name=\"pug\"}}}}"},
    {"[ a . b ]\n[ j . \"ʞ\" . 'l' ]\n", "{a={b={}},j={ʞ={l={}}}}"},
    {"[x.y.z.w]\n[x]\n", "{x={y={z={w={}}}}}"},
    {"[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = "
     "true\n",
     "{fruit={apple={color=\"red\",taste={sweet=true},texture={smooth=true}}}}"},
    {"a = 1\n[t]\nb = 2\n", "{a=1,t={b=2}}"},
    {"[a.b]\nx = 1\n[a]\ny = 2\n", "{a={b={x=1},y=2}}"},
    /* arrays of tables */
    {"[[products]]\nname = \"Hammer\"\n[[products]]\n[[products]]\nname = \"Nail\"\n",
     "{products=[{name=\"Hammer\"},{},{name=\"Nail\"}]}"},
    {"[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\n"
     "name = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny smith\"\n[[fruits]]\n"
     "name = \"banana\"\n[[fruits.varieties]]\nname = \"plantain\"\n",
     "{fruits=[{name=\"apple\",physical={color=\"red\"},varieties=[{name=\"red delicious\"},{name="
     "\"granny smith\"}]},{name=\"banana\",varieties=[{name=\"plantain\"}]}]}"},
    /* file order is kept, including tables named only through sub-tables */
    {"[host.\"https://b\"]\nx = 1\n[host.\"https://a\".header]\ny = 2\n[host.\"https://c\"]\n",
     "{host={https://b={x=1},https://a={header={y=2}},https://c={}}}"},
    {"z = 1\ny = 2\nx = 3\n", "{z=1,y=2,x=3}"},
};

START_TEST(test_valid)
{
  cleanup_error struct error *err = NULL;
  cleanup_toml struct toml_value *root = NULL;
  cleanup_buf struct buf out = BUF_INIT;
  const char *doc = valid[_i].doc;

  if (toml_parse(doc, strlen(doc), "t.toml", &root, &err) < 0)
    ck_abort_msg("case %d: %s", _i, err->msg);
  render(&out, root);
  ck_assert_msg(strcmp(out.data, valid[_i].want) == 0, "case %d: got %s want %s", _i, out.data,
                valid[_i].want);
}
END_TEST

static const struct {
  const char *doc;
  const char *want; /* the whole error message */
  size_t len;       /* 0: strlen(doc) */
} invalid[] = {
    /* keys */
    {"= 1\n", "t.toml:1:1: expected a key, found '='"},
    {"a\n", "t.toml:1:2: expected '=' after a key, found end of line"},
    {"a = \n", "t.toml:1:5: expected a value, found end of line"},
    {"a = 1 b = 2\n", "t.toml:1:7: expected end of line, found 'b'"},
    {"a. = 1\n", "t.toml:1:4: expected a key, found '='"},
    {"\"\"\"k\"\"\" = 1\n", "t.toml:1:1: a multi-line string cannot be a key"},
    {"a b = 1\n", "t.toml:1:3: expected '=' after a key, found 'b'"},
    {"ключ = 1\n", "t.toml:1:1: expected a key, found 'к'"},
    /* duplicates and redefinitions */
    {"a = 1\na = 2\n", "t.toml:2:1: duplicate key a (first defined at line 1)"},
    {"a = 1\n\"a\" = 2\n", "t.toml:2:1: duplicate key a (first defined at line 1)"},
    {"a.b = 1\na.b = 2\n", "t.toml:2:3: duplicate key a.b (first defined at line 1)"},
    {"a = 1\na.b = 2\n", "t.toml:2:1: cannot add keys to a: already defined as a value"},
    {"[a]\nb = 1\n[a]\n", "t.toml:3:1: table [a] is already defined (line 1)"},
    {"[a.b]\n[a]\n[a]\n", "t.toml:3:1: table [a] is already defined (line 1)"},
    {"[a]\nb.c = 1\n[a.b]\n", "t.toml:3:1: table [a.b] is already defined (line 2)"},
    {"a = 1\n[a]\n", "t.toml:2:1: cannot define table [a]: already defined as a value at line 1"},
    {"a = {}\n[a.b]\n",
     "t.toml:2:2: cannot define a table under a: already defined as an inline table"},
    {"a = {x = 1}\na.y = 2\n",
     "t.toml:2:1: cannot add keys to a: already defined as an inline table"},
    {"a = [1]\n[[a]]\n", "t.toml:2:1: cannot define [[a]]: already defined as an array at line 1"},
    {"[[a]]\n[a]\n",
     "t.toml:2:1: cannot define table [a]: already defined as an array of tables at line 1"},
    {"[a]\n[[a]]\n", "t.toml:2:1: cannot define [[a]]: already defined as a table at line 1"},
    {"[a.b.c]\nz = 9\n[a]\nb.c.t = 8\n",
     "t.toml:4:1: cannot add keys to b: already defined as a table"},
    {"[[a.b]]\n[a]\nb.y = 2\n",
     "t.toml:3:1: cannot add keys to b: already defined as an array of tables"},
    {"a = {b = 1, b = 2}\n", "t.toml:1:13: duplicate key b (first defined at line 1)"},
    {"a = [{b = 1}]\n[a.c]\n",
     "t.toml:2:2: cannot define a table under a: already defined as an array"},
    /* table headers */
    {"[a\n", "t.toml:1:3: expected ']' closing the table header, found end of line"},
    {"[[a]\n", "t.toml:1:4: expected ']]' closing the table header, found ']'"},
    {"[]\n", "t.toml:1:2: expected a key, found ']'"},
    {"[a] b = 1\n", "t.toml:1:5: expected end of line, found 'b'"},
    /* strings */
    {"s = \"abc\n", "t.toml:1:5: unterminated string"},
    {"s = 'abc\n", "t.toml:1:5: unterminated string"},
    {"s = \"\"\"abc\n\n", "t.toml:1:5: unterminated multi-line string"},
    {"s = '''abc", "t.toml:1:5: unterminated multi-line string"},
    {"s = \"\\x41\"\n", "t.toml:1:6: invalid escape sequence \\ followed by 'x'"},
    {"s = \"\\u12\"\n", "t.toml:1:6: \\u needs 4 hexadecimal digits"},
    {"s = \"\\uD800\"\n", "t.toml:1:6: escape \\uD800 is not a Unicode scalar value"},
    {"s = \"\\U00110000\"\n", "t.toml:1:6: escape \\U00110000 is not a Unicode scalar value"},
    {"s = \"a\x01\"\n", "t.toml:1:7: expected string text, found control character U+0001"},
    {"s = 'a\x7f'\n", "t.toml:1:7: expected string text, found control character U+007F"},
    {"s = \"\"\"a\"\"\"\"\"\"\n", "t.toml:1:14: too many quotes at the end of a multi-line string"},
    {"s = \"\"\"a\x00\"\"\"\n", "t.toml:1:9: expected string text, found control character U+0000",
     14},
    /* numbers */
    {"a = 01\n", "t.toml:1:5: leading zeros are not allowed in '01'"},
    {"a = 1__0\n", "t.toml:1:5: invalid number '1__0'"},
    {"a = _1\n", "t.toml:1:5: expected a value, found '_'"},
    {"a = 1_\n", "t.toml:1:5: invalid number '1_'"},
    {"a = +0x10\n", "t.toml:1:5: a sign is not allowed on a hexadecimal integer"},
    {"a = 0x\n", "t.toml:1:5: invalid number '0x'"},
    {"a = 0b102\n", "t.toml:1:5: invalid integer '0b102'"},
    {"a = 0xffffffffffffffff\n", "t.toml:1:5: integer '0xffffffffffffffff' out of range"},
    {"a = 9223372036854775808\n", "t.toml:1:5: integer '9223372036854775808' out of range"},
    {"a = 1.\n", "t.toml:1:5: invalid number '1.'"},
    {"a = .5\n", "t.toml:1:5: expected a value, found '.'"},
    {"a = 1e\n", "t.toml:1:5: invalid number '1e'"},
    {"a = 1.5.3\n", "t.toml:1:5: invalid number '1.5.3'"},
    {"a = 1e999\n", "t.toml:1:5: float '1e999' out of range"},
    {"a = infinity\n", "t.toml:1:5: invalid number 'infinity'"},
    {"a = 03.14\n", "t.toml:1:5: leading zeros are not allowed in '03.14'"},
    {"a = truee\n", "t.toml:1:5: expected a value, found 't'"},
    {"a = TRUE\n", "t.toml:1:5: expected a value, found 'T'"},
    /* date-times */
    {"a = 1979-13-27\n", "t.toml:1:5: invalid date"},
    {"a = 2001-02-29\n", "t.toml:1:5: invalid date"},
    {"a = 1979-05-27T25:00:00\n", "t.toml:1:5: invalid date-time"},
    {"a = 1979-05-27T07:32\n", "t.toml:1:5: invalid date-time"},
    {"a = 1979-05-27T07:32:00+7:00\n", "t.toml:1:5: invalid date-time offset"},
    {"a = 1900-02-29\n", "t.toml:1:5: invalid date"}, /* divisible by 100, not by 400 */
    {"a = 2100-02-29T00:00:00Z\n", "t.toml:1:5: invalid date"},
    {"a = 23:59:61\n", "t.toml:1:5: invalid time"},
    {"a = 07:32\n", "t.toml:1:5: invalid time"},
    {"a = 1979-05-27X\n", "t.toml:1:15: expected end of date-time, found 'X'"},
    /* arrays and inline tables */
    {"a = [1 2]\n", "t.toml:1:8: expected ',' or ']' in array, found '2'"},
    {"a = [1,,2]\n", "t.toml:1:8: expected a value, found ','"},
    {"a = [1\n", "t.toml:2:1: expected ',' or ']' in array, found end of file"},
    {"a = {b = 1,}\n", "t.toml:1:12: trailing comma in an inline table"},
    {"a = {b = 1\n}\n", "t.toml:1:11: expected ',' or '}' in inline table, found end of line"},
    {"a = {\nb = 1}\n", "t.toml:1:6: expected a key, found end of line"},
    {"a = {b}\n", "t.toml:1:7: expected '=' after a key, found '}'"},
    /* an inline table is complete: dotted keys cannot extend it, inside or out */
    {"a = { b = { c = 1 }, b.d = 2 }\n",
     "t.toml:1:22: cannot add keys to b: already defined as an inline table"},
    {"a = { b = {}, b.c = 1 }\n",
     "t.toml:1:15: cannot add keys to b: already defined as an inline table"},
    {"a.b = { c = 1 }\na.b.d = 2\n",
     "t.toml:2:3: cannot add keys to a.b: already defined as an inline table"},
    /* encoding, comments */
    {"a = 1\r\n# x\rb = 2\n", "t.toml:2:4: carriage return not followed by a line feed"},
    {"a = \"\xC3\x28\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\xED\xA0\x80\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\xC0\xAF\"\n", "t.toml:1:6: invalid UTF-8"},
    /* overlong 3- and 4-byte forms, past U+10FFFF, a lead byte no UTF-8 has */
    {"a = \"\xE0\x80\xAF\"\n", "t.toml:1:6: invalid UTF-8"},
    /* U+07FF in three bytes: overlong (two bytes hold it), yet above U+007F */
    {"a = \"\xE0\x9F\xBF\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\xF0\x80\x80\xAF\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\xF4\x90\x80\x80\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\xF5\x80\x80\x80\"\n", "t.toml:1:6: invalid UTF-8"},
    {"a = \"\x80\"\n", "t.toml:1:6: invalid UTF-8"},
    /* Truncated at the end of the input, with the missing bytes right after
     * it in memory: a check that reads one byte past the end accepts these
     * (and then reports an unterminated string instead). */
    {"a = \"\xC3\xA9\"\n", "t.toml:1:6: invalid UTF-8", 6},
    {"# \xE2\x82\xAC\n", "t.toml:1:3: invalid UTF-8", 4},
    {"# \xF0\x9F\x98\x80\n", "t.toml:1:3: invalid UTF-8", 5},
    {"# \xE2\n", "t.toml:1:3: invalid UTF-8"},
    /* DEL is a control character in comments too */
    {"# a\x7f\n", "t.toml:1:4: expected comment text, found control character U+007F"},
    {"# ok \xE2\x82\xAC\n# bad\x01\n",
     "t.toml:2:6: expected comment text, found control character U+0001"},
    {"a = 1\n\x00", "t.toml:2:1: expected a key, found control character U+0000", 7},
    /* columns count characters, not bytes */
    {"\"é\" = 1 x\n", "t.toml:1:9: expected end of line, found 'x'"},
};

START_TEST(test_invalid)
{
  cleanup_error struct error *err = NULL;
  struct toml_value *root = NULL;
  const char *doc = invalid[_i].doc;
  size_t len = invalid[_i].len ? invalid[_i].len : strlen(doc);

  ck_assert_msg(toml_parse(doc, len, "t.toml", &root, &err) < 0, "case %d parsed", _i);
  ck_assert_ptr_null(root);
  ck_assert_msg(strcmp(err->msg, invalid[_i].want) == 0, "case %d: got '%s' want '%s'", _i,
                err->msg, invalid[_i].want);
  ck_assert_int_eq(err->code, ERR_INVALID);

  /* again from a heap copy of exactly len bytes: under ASan, a read past
   * the end of the input is a report, whatever lies beyond */
  {
    cleanup_free char *copy = xmalloc(len ? len : 1);
    cleanup_error struct error *err2 = NULL;
    memcpy(copy, doc, len);
    ck_assert_int_lt(toml_parse(copy, len, "t.toml", &root, &err2), 0);
    ck_assert_str_eq(err2->msg, invalid[_i].want);
  }
}
END_TEST

START_TEST(test_positions)
{
  static const char doc[] = "a = 1\n[t]\n  s = \"x\"\n  arr = [ 1,\n    2 ]\n";
  cleanup_error struct error *err = NULL;
  cleanup_toml struct toml_value *root = NULL;
  const struct toml_value *t, *v;

  ck_assert_int_eq(toml_parse(doc, strlen(doc), "p.toml", &root, &err), 0);
  t = toml_get(root, "t");
  ck_assert_int_eq(t->line, 2);
  ck_assert_int_eq(t->col, 1);
  v = toml_get(t, "s");
  ck_assert_int_eq(v->line, 3);
  ck_assert_int_eq(v->col, 7);
  v = toml_at(toml_get(t, "arr"), 1);
  ck_assert_int_eq(v->line, 5);
  ck_assert_int_eq(v->col, 5);
  ck_assert_int_eq(t->u.table.items[0].line, 3);
  ck_assert_int_eq(t->u.table.items[0].col, 3);
  toml_error_at(&err, "p.toml", v, "want a %s, got an %s", "string", toml_type_name(v->type));
  ck_assert_str_eq(err->msg, "p.toml:5:5: want a string, got an integer");
}
END_TEST

START_TEST(test_lookup)
{
  static const char doc[] = "version = 2\n"
                            "[plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                            "  config_path = \"/etc/containerd/certs.d\"\n"
                            "[plugins.cri]\n"
                            "  x = 'y'\n";
  cleanup_error struct error *err = NULL;
  cleanup_toml struct toml_value *root = NULL;
  const struct toml_value *v;

  ck_assert_int_eq(toml_parse(doc, strlen(doc), NULL, &root, &err), 0);
  v = toml_get_path(root, "plugins.\"io.containerd.grpc.v1.cri\".registry.config_path");
  ck_assert_str_eq(toml_str(v), "/etc/containerd/certs.d");
  v = toml_get_path(root, "plugins . 'io.containerd.grpc.v1.cri' . registry");
  ck_assert_int_eq(v->type, TOML_TABLE);
  ck_assert_str_eq(toml_str(toml_get_path(root, "plugins.cri.x")), "y");
  ck_assert_ptr_null(toml_get_path(root, "plugins.io.containerd.grpc.v1.cri"));
  ck_assert_ptr_null(toml_get_path(root, "version.x"));
  ck_assert_ptr_null(toml_get_path(root, "plugins..cri"));
  ck_assert_ptr_null(toml_get_path(root, "plugins.cri extra"));
  ck_assert_ptr_null(toml_get_path(NULL, "a"));
  ck_assert_ptr_null(toml_get(toml_get(root, "version"), "a"));
  ck_assert_int_eq(toml_get(root, "version")->u.integer, 2);
  ck_assert_ptr_null(toml_str(toml_get(root, "version")));
  ck_assert_str_eq(toml_key_at(root, 1), "plugins");
  ck_assert_ptr_null(toml_key_at(root, 2));
  ck_assert_ptr_null(toml_at(root, 2));
  ck_assert_uint_eq(toml_len(toml_get(root, "version")), 0);
}
END_TEST

START_TEST(test_nesting_limit)
{
  cleanup_error struct error *err = NULL;
  cleanup_buf struct buf doc = BUF_INIT;
  struct toml_value *root = NULL;

  buf_addstr(&doc, "a = ");
  for (int i = 0; i < 1000; i++)
    buf_addstr(&doc, "[");
  ck_assert_int_lt(toml_parse(doc.data, doc.len, "deep.toml", &root, &err), 0);
  ck_assert_str_eq(err->msg, "deep.toml:1:69: values nested more than 64 deep");
  error_freep(&err);

  buf_release(&doc);
  buf_addstr(&doc, "[a");
  for (int i = 0; i < 100; i++)
    buf_addstr(&doc, ".a");
  buf_addstr(&doc, "]\n");
  ck_assert_int_lt(toml_parse(doc.data, doc.len, "deep.toml", &root, &err), 0);
  ck_assert_str_eq(err->msg, "deep.toml:1:130: key has more than 64 parts");
}
END_TEST

/* Regression: lookups were linear, so a file with many keys took seconds
 * (60000 keys: 8 s) and check's 4 s timeout catches that. */
START_TEST(test_many_keys)
{
  cleanup_error struct error *err = NULL;
  cleanup_buf struct buf doc = BUF_INIT;
  struct toml_value *root = NULL;

  for (int i = 0; i < 100000; i++)
    buf_addf(&doc, "k%d = %d\n", i, i);
  ck_assert_int_eq(toml_parse(doc.data, doc.len, "many.toml", &root, &err), 0);
  ck_assert_uint_eq(toml_len(root), 100000);
  ck_assert_int_eq(toml_get(root, "k0")->u.integer, 0);
  ck_assert_int_eq(toml_get(root, "k99999")->u.integer, 99999);
  ck_assert_int_eq(toml_get(root, "k12345")->u.integer, 12345);
  ck_assert_ptr_null(toml_get(root, "k100000"));
  ck_assert_str_eq(toml_key_at(root, 54321), "k54321");
  toml_free(root);

  /* duplicates are still found once the index is in use */
  buf_addstr(&doc, "k30 = 1\n");
  ck_assert_int_lt(toml_parse(doc.data, doc.len, "many.toml", &root, &err), 0);
  ck_assert_str_eq(err->msg, "many.toml:100001:1: duplicate key k30 (first defined at line 31)");
}
END_TEST

START_TEST(test_parse_file)
{
  cleanup_error struct error *err = NULL;
  struct toml_value *root = NULL;

  ck_assert_int_lt(toml_parse_file("/nonexistent/ctrx/x.toml", 1 << 20, &root, &err), 0);
  ck_assert_int_eq(err->sys_errno, ENOENT);
  ck_assert_str_eq(err->msg, "read '/nonexistent/ctrx/x.toml': No such file or directory");
}
END_TEST

Suite *
toml_suite(void)
{
  Suite *s = suite_create("toml");
  TCase *tc = tcase_create("parse");

  tcase_add_loop_test(tc, test_valid, 0, ARRAY_SIZE(valid));
  tcase_add_loop_test(tc, test_invalid, 0, ARRAY_SIZE(invalid));
  tcase_add_test(tc, test_positions);
  tcase_add_test(tc, test_lookup);
  tcase_add_test(tc, test_nesting_limit);
  tcase_add_test(tc, test_many_keys);
  tcase_add_test(tc, test_parse_file);
  suite_add_tcase(s, tc);
  return s;
}
