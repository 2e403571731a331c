/*
 * The process's fds: closing one JavaScript holds as a number, and raising the limit on how many
 * may be open (every diverted connection costs at least two).
 *
 *   closeFd(fd)                      -> undefined
 *   raiseNofile()                    -> { soft, hard }  RLIMIT_NOFILE soft limit raised to hard
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include <node_api.h>

#include "args.h"
#include "errors.h"
#include "fds.h"

/* ---- closeFd(fd) --------------------------------------------------------------------------- */

napi_value CloseFd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fd;
  if (!get_args(env, info, 1, argv) || !get_int(env, argv[0], "fd", 0, INT32_MAX, &fd)) return NULL;
  /* Linux releases the fd even when close() reports EINTR: never retry. */
  if (close((int)fd) != 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

/* ---- raiseNofile() ------------------------------------------------------------------------ */

static napi_value rlim_value(napi_env env, rlim_t v) {
  napi_value out = NULL;
  napi_create_double(env, v == RLIM_INFINITY ? 1.0 / 0.0 : (double)v, &out);
  return out;
}

napi_value RaiseNofile(napi_env env, napi_callback_info info) {
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return throw_errno(env, errno, "getrlimit(RLIMIT_NOFILE)");
  if (lim.rlim_cur < lim.rlim_max) {
    struct rlimit raised = {lim.rlim_max, lim.rlim_max};
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
      return throw_errno(env, errno, "setrlimit(RLIMIT_NOFILE)");
    lim = raised;
  }
  napi_value result, soft, hard;
  CHECK_NAPI(napi_create_object(env, &result));
  if ((soft = rlim_value(env, lim.rlim_cur)) == NULL || (hard = rlim_value(env, lim.rlim_max)) == NULL) {
    napi_throw_error(env, "ERR_NAPI", "napi_create_double failed");
    return NULL;
  }
  CHECK_NAPI(napi_set_named_property(env, result, "soft", soft));
  CHECK_NAPI(napi_set_named_property(env, result, "hard", hard));
  return result;
}
