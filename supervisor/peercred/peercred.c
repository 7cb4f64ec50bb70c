/* N-API addon with the things Node cannot do itself on Unix sockets, lock
 * files and copies: read SO_PEERCRED of a connected socket, take a
 * non-blocking flock that marks the one supervisor of a DURUN_HOME, and clone
 * a file copy-on-write (FICLONE) between two fds the caller opened (so it
 * chooses O_NOFOLLOW and the mode; fs.copyFile cannot). */
#define _GNU_SOURCE
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <sys/socket.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *what, int err)
{
	char msg[256];
	char code[32];
	size_t n = strlen(what);
	if (n > 180)
		n = 180;
	memcpy(msg, what, n);
	msg[n] = '\0';
	strncat(msg, ": ", sizeof msg - strlen(msg) - 1);
	strncat(msg, strerror(err), sizeof msg - strlen(msg) - 1);
	code[0] = '\0';
	switch (err) {
	case EWOULDBLOCK: strcpy(code, "EWOULDBLOCK"); break;
	case EBADF: strcpy(code, "EBADF"); break;
	case ENOTSOCK: strcpy(code, "ENOTSOCK"); break;
	case EOPNOTSUPP: strcpy(code, "EOPNOTSUPP"); break;
	case EXDEV: strcpy(code, "EXDEV"); break;
	case EINVAL: strcpy(code, "EINVAL"); break;
	case ENOTTY: strcpy(code, "ENOTTY"); break;
	case ENOSYS: strcpy(code, "ENOSYS"); break;
	case ENOSPC: strcpy(code, "ENOSPC"); break;
	case EIO: strcpy(code, "EIO"); break;
	default: strcpy(code, "ESYSCALL");
	}
	napi_throw_error(env, code, msg);
	return NULL;
}

static int arg_int(napi_env env, napi_callback_info info, int32_t *out)
{
	size_t argc = 1;
	napi_value argv[1];
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
		return -1;
	return napi_get_value_int32(env, argv[0], out) == napi_ok ? 0 : -1;
}

static napi_value set_int(napi_env env, napi_value obj, const char *key, int64_t v)
{
	napi_value val;
	napi_create_int64(env, v, &val);
	napi_set_named_property(env, obj, key, val);
	return obj;
}

/* peerCred(fd) -> {pid, uid, gid} */
static napi_value peer_cred(napi_env env, napi_callback_info info)
{
	int32_t fd;
	struct ucred cred;
	socklen_t len = sizeof cred;
	napi_value obj;
	if (arg_int(env, info, &fd) < 0) {
		napi_throw_type_error(env, NULL, "peerCred(fd): fd must be an integer");
		return NULL;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
	napi_create_object(env, &obj);
	set_int(env, obj, "pid", cred.pid);
	set_int(env, obj, "uid", cred.uid);
	return set_int(env, obj, "gid", cred.gid);
}

/* lockExclusive(path) -> fd, held until the process exits; throws
 * EWOULDBLOCK when another process holds it. */
static napi_value lock_exclusive(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], result;
	char path[4096];
	size_t plen;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
	    napi_get_value_string_utf8(env, argv[0], path, sizeof path, &plen) != napi_ok) {
		napi_throw_type_error(env, NULL, "lockExclusive(path): path must be a string");
		return NULL;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return throw_errno(env, path, errno);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		close(fd);
		return throw_errno(env, path, err);
	}
	napi_create_int32(env, fd, &result);
	return result;
}

/* cloneFile(dstFd, srcFd): the whole of src shares its blocks with dst
 * (ioctl FICLONE); throws EOPNOTSUPP/EXDEV/EINVAL/ENOTTY where the
 * filesystem cannot, so the caller copies instead. */
static napi_value clone_file(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2];
	int32_t dst, src;
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
	    napi_get_value_int32(env, argv[0], &dst) != napi_ok || napi_get_value_int32(env, argv[1], &src) != napi_ok) {
		napi_throw_type_error(env, NULL, "cloneFile(dstFd, srcFd): both must be integers");
		return NULL;
	}
	if (ioctl(dst, FICLONE, src) < 0)
		return throw_errno(env, "ioctl(FICLONE)", errno);
	return NULL;
}

static napi_value init(napi_env env, napi_value exports)
{
	napi_property_descriptor props[] = {
		{ "peerCred", NULL, peer_cred, NULL, NULL, NULL, napi_default, NULL },
		{ "lockExclusive", NULL, lock_exclusive, NULL, NULL, NULL, napi_default, NULL },
		{ "cloneFile", NULL, clone_file, NULL, NULL, NULL, napi_default, NULL },
	};
	napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
	return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
