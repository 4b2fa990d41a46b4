/* The pull scheduler's decisions: which endpoint an idle connection takes,
 * which running range it steals from and where it cuts it, how far ahead of
 * the stored bytes a range may start (the spool's bound), how many
 * connections an endpoint gets as it shows what more of them bring, and the
 * size of the pool. */
#include <check.h>
#include <stdint.h>

#include "config.h"
#include "spread.h"
#include "unit.h"
#include "util.h"

#define MB 1000000.0
#define MIB (1 << 20)

#define EP(active, cap, failed, rate)                                                              \
  {                                                                                                \
    (active), (cap), (failed), (rate), 0                                                           \
  }

static const struct {
  const char *name;
  struct spread_ep_state eps[4];
  size_t n;
  uint64_t excluded;
  int want;
} pick_cases[] = {
    {"all new: the first", {EP(0, 8, false, 0), EP(0, 8, false, 0)}, 2, 0, 0},
    {"an idle one before a busy faster one",
     {EP(2, 8, false, 9 * MB), EP(0, 8, false, 1 * MB)},
     2,
     0,
     1},
    {"unmeasured before measured (both busy)",
     {EP(1, 8, false, 9 * MB), EP(1, 8, false, 0)},
     2,
     0,
     1},
    {"the best rate per connection",
     {EP(1, 8, false, 2 * MB), EP(3, 8, false, 5 * MB), EP(1, 8, false, 1 * MB)},
     3,
     0,
     1},
    {"same rate: fewer connections", {EP(3, 8, false, 5 * MB), EP(2, 8, false, 5 * MB)}, 2, 0, 1},
    {"a full one is skipped", {EP(8, 8, false, 9 * MB), EP(1, 8, false, 1 * MB)}, 2, 0, 1},
    {"a failed one is skipped", {EP(0, 8, true, 0), EP(5, 8, false, 1 * MB)}, 2, 0, 1},
    {"an excluded one is skipped", {EP(0, 8, false, 0), EP(5, 8, false, 1 * MB)}, 2, 1, 1},
    {"none left", {EP(8, 8, false, 1 * MB), EP(0, 8, true, 0)}, 2, 0, -1},
    {"none at all", {EP(0, 8, false, 0)}, 0, 0, -1},
};

START_TEST(pick_endpoint)
{
  int got = spread_pick_endpoint(pick_cases[_i].eps, pick_cases[_i].n, pick_cases[_i].excluded);
  ck_assert_msg(got == pick_cases[_i].want, "%s: got %d, want %d", pick_cases[_i].name, got,
                pick_cases[_i].want);
}
END_TEST

static const struct {
  const char *name;
  int64_t cur, end;
  double owner, thief;
  int64_t want;
} cut_cases[] = {
    {"equal rates: halves", 0, 8 * MIB, 5 * MB, 5 * MB, 4 * MIB},
    {"unknown rates: halves", 2 * MIB, 10 * MIB, 0, 0, 6 * MIB},
    {"unknown thief counts as the owner", 0, 8 * MIB, 4 * MB, 0, 4 * MIB},
    {"a thief three times as fast takes three quarters", 0, 8 * MIB, 1 * MB, 3 * MB, 2 * MIB},
    {"a slow thief takes less", 0, 10 * MIB, 4 * MB, 1 * MB, 8 * MIB},
    {"too little left to split", 0, MIB + MIB / 2, 5 * MB, 5 * MB, -1},
    {"the thief's part would be too small", 0, 20 * MIB, 100 * MB, 1 * MB, -1},
    {"the owner's part would be too small", 0, 20 * MIB, 1 * MB, 100 * MB, -1},
};

START_TEST(steal_cut)
{
  int64_t got = spread_steal_cut(cut_cases[_i].cur, cut_cases[_i].end, cut_cases[_i].owner,
                                 cut_cases[_i].thief, MIB);
  ck_assert_msg(got == cut_cases[_i].want, "%s: got %lld, want %lld", cut_cases[_i].name,
                (long long)got, (long long)cut_cases[_i].want);
}
END_TEST

static const struct {
  const char *name;
  struct spread_running r[3];
  size_t n;
  int64_t now;
  int want;
} victim_cases[] = {
    {"nothing runs", {{0, 0, 0, 0}}, 0, 10000, -1},
    {"the longest to finish",
     {{0, 4 * MIB, 2 * MB, 9000}, {0, 8 * MIB, 8 * MB, 9000}, {0, 6 * MIB, 1 * MB, 9000}},
     3,
     10000,
     2},
    {"lower wins a tie", {{0, 4 * MIB, 1 * MB, 9000}, {0, 4 * MIB, 1 * MB, 9000}}, 2, 10000, 0},
    {"too small to split", {{0, MIB, 1 * MB, 9000}}, 1, 10000, -1},
    {"a stalled one first, however small",
     {{0, 30 * MIB, 1 * MB, 9000}, {MIB, MIB + 10, 1 * MB, 10000 - SPREAD_STALL_STEAL_MS}},
     2,
     10000,
     1},
    {"not stalled just before the limit",
     {{0, MIB, 1 * MB, 10000 - SPREAD_STALL_STEAL_MS + 1}},
     1,
     10000,
     -1},
    {"a finished one is no victim", {{MIB, MIB, 0, 0}}, 1, 10000, -1},
};

START_TEST(pick_victim)
{
  int got = spread_pick_victim(victim_cases[_i].r, victim_cases[_i].n, victim_cases[_i].now, MIB);
  ck_assert_msg(got == victim_cases[_i].want, "%s: got %d, want %d", victim_cases[_i].name, got,
                victim_cases[_i].want);
}
END_TEST

/* The spool holds at most SPREAD_WINDOW bytes ahead of what was handed on. */
static const struct {
  int64_t head, start;
  bool want;
} window_cases[] = {
    {0, 0, true},
    {0, SPREAD_WINDOW, true},
    {0, SPREAD_WINDOW + 1, false},
    {10 * MIB, 10 * MIB + SPREAD_WINDOW, true},
    {10 * MIB, 10 * MIB + SPREAD_WINDOW + 1, false},
    {10 * MIB, 0, true}, /* behind the head: already in */
};

START_TEST(in_window)
{
  ck_assert_int_eq(spread_in_window(window_cases[_i].head, window_cases[_i].start, SPREAD_WINDOW),
                   window_cases[_i].want);
}
END_TEST

/* An endpoint's connections over a pull: the rates (bytes/s of all of them
 * together) each count brought, in turn, and the counts that follow. */
static const struct {
  const char *name;
  int start, cap;
  double rates[4];
  size_t n;
  int want[4];
  bool scales, settled;
} grow_cases[] = {
    {"caps each connection: doubles up to the cap",
     4,
     8,
     {20 * MB, 40 * MB, 40 * MB},
     3,
     {8, 8, 8},
     true,
     true},
    {"caps all together: back to where it was",
     2,
     8,
     {5 * MB, 5 * MB, 9 * MB},
     3,
     {4, 2, 2},
     false,
     true},
    {"a gain under SPREAD_GAIN does not pay", 2, 8, {10 * MB, 12.9 * MB}, 2, {4, 2}, false, true},
    {"just over SPREAD_GAIN pays", 2, 8, {10 * MB, 13.01 * MB}, 2, {4, 8}, true, false},
    {"paid once, then not: the last count that paid",
     1,
     8,
     {5 * MB, 10 * MB, 11 * MB},
     3,
     {2, 4, 2},
     true,
     true},
    {"the cap is not passed", 3, 5, {3 * MB, 5 * MB}, 2, {5, 5}, true, true},
    {"starting at the cap: settled at once", 8, 8, {1 * MB}, 1, {8}, false, true},
    {"not measured yet", 2, 8, {0}, 0, {0}, false, false},
    {"fast connections: no more of them", 4, 16, {200 * MB}, 1, {4}, false, true},
    {"fast once more were added: kept, no more", 4, 16, {40 * MB, 160 * MB}, 2, {8, 8}, true, true},
};

START_TEST(grow)
{
  struct spread_growth g = {.want = grow_cases[_i].start};

  for (size_t k = 0; k < grow_cases[_i].n; k++) {
    spread_grow(&g, grow_cases[_i].cap, grow_cases[_i].rates[k]);
    ck_assert_msg(g.want == grow_cases[_i].want[k], "%s: step %zu: %d connections, want %d",
                  grow_cases[_i].name, k, g.want, grow_cases[_i].want[k]);
  }
  ck_assert_msg(g.scales == grow_cases[_i].scales, "%s: scales", grow_cases[_i].name);
  ck_assert_msg(g.settled == grow_cases[_i].settled, "%s: settled", grow_cases[_i].name);
}
END_TEST

START_TEST(start_want)
{
  ck_assert_int_eq(spread_start_want(0), SPREAD_START_ONE);
  ck_assert_int_eq(spread_start_want(1), SPREAD_START_ONE);
  ck_assert_int_eq(spread_start_want(2), SPREAD_START_MANY);
  ck_assert_int_eq(spread_start_want(6), SPREAD_START_MANY);
}
END_TEST

/* The chunks of a blob: from AT on, of SIZE bytes, chunks of 4 MiB. */
static const struct {
  int64_t at, size;
  int64_t want;
} chunk_cases[] = {
    {0, 22 * MIB, 4 * MIB},         {20 * MIB, 22 * MIB, 22 * MIB}, /* 2 MiB left: one range */
    {16 * MIB, 22 * MIB, 20 * MIB}, /* 6 MiB left: 4 and 2, half a chunk is enough */
    {17 * MIB, 22 * MIB, 22 * MIB}, /* 5 MiB left: one range, no 1 MiB tail */
    {12 * MIB, 22 * MIB, 16 * MIB}, {0, 1000, 1000},
    {0, 6 * MIB, 4 * MIB},          {0, 6 * MIB - 1, 6 * MIB - 1},
    {0, 6 * MIB + 1, 4 * MIB},      {3, 4 * MIB + 3 + 2 * MIB, 4 * MIB + 3},
};

START_TEST(chunk_end)
{
  ck_assert_int_eq(spread_chunk_end(chunk_cases[_i].at, chunk_cases[_i].size, 4 * MIB),
                   chunk_cases[_i].want);
}
END_TEST

/* A blob's chunks cover it exactly, in order, none under half a chunk. */
START_TEST(chunks_cover)
{
  for (int64_t size = 1; size < 40 * MIB; size += 777777) {
    int64_t at = 0;
    while (at < size) {
      int64_t end = spread_chunk_end(at, size, 4 * MIB);
      ck_assert(end > at && end <= size);
      ck_assert(end - at >= 2 * MIB || (at == 0 && end == size));
      at = end;
    }
    ck_assert_int_eq(at, size);
  }
}
END_TEST

static const struct {
  size_t n;
  int want;
} pool_cases[] = {
    {0, SPREAD_CONNS_PER_EP}, {1, SPREAD_CONNS_PER_EP}, {2, SPREAD_MAX_CONNS},
    {3, SPREAD_MAX_CONNS},    {60, SPREAD_MAX_CONNS},
};

START_TEST(pool_size)
{
  ck_assert_int_eq(spread_pool_size(pool_cases[_i].n), pool_cases[_i].want);
}
END_TEST

/* [mirror] spread in the ctrx config: unset, true, false, or not a boolean. */
static const struct {
  const char *text;
  int want; /* -2: an error */
} config_cases[] = {
    {"", -1},
    {"[mirror]\nspread = true\n", 1},
    {"[mirror]\nspread = false\n", 0},
    {"[mirror]\nspread = \"no\"\n", -2},
};

START_TEST(config_spread)
{
  char dir[] = "/tmp/ctrx-spread-XXXXXX";
  struct ctrx_config cfg = {0};
  struct error *err = NULL;
  cleanup_free char *path = NULL;
  const char *paths[1];
  int rv;

  unit_tmpdir_make(dir);
  path = unit_write(dir, "config.toml", config_cases[_i].text);
  paths[0] = path;
  rv = config_load_paths(&cfg, paths, 1, &err);
  if (config_cases[_i].want == -2) {
    ck_assert_int_lt(rv, 0);
    ck_assert_ptr_nonnull(strstr(err->msg, "mirror.spread must be a boolean"));
    error_free(err);
  } else {
    ck_assert_msg(rv == 0, "%s", err ? err->msg : "");
    ck_assert_int_eq(cfg.spread, config_cases[_i].want);
  }
  config_release(&cfg);
  unit_tmpdir_remove(dir);
}
END_TEST

Suite *
spread_suite(void)
{
  Suite *s = suite_create("spread");
  TCase *t = tcase_create("decisions");

  tcase_add_loop_test(t, pick_endpoint, 0, (int)ARRAY_SIZE(pick_cases));
  tcase_add_loop_test(t, steal_cut, 0, (int)ARRAY_SIZE(cut_cases));
  tcase_add_loop_test(t, pick_victim, 0, (int)ARRAY_SIZE(victim_cases));
  tcase_add_loop_test(t, in_window, 0, (int)ARRAY_SIZE(window_cases));
  tcase_add_loop_test(t, grow, 0, (int)ARRAY_SIZE(grow_cases));
  tcase_add_test(t, start_want);
  tcase_add_loop_test(t, pool_size, 0, (int)ARRAY_SIZE(pool_cases));
  tcase_add_loop_test(t, chunk_end, 0, (int)ARRAY_SIZE(chunk_cases));
  tcase_add_test(t, chunks_cover);
  tcase_add_loop_test(t, config_spread, 0, (int)ARRAY_SIZE(config_cases));
  suite_add_tcase(s, t);
  return s;
}
