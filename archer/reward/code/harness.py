"""Test harness that runs INSIDE the sandbox (``python -I harness.py``); standard library only.

It never imports archer and never sees an expected output of a stdin or call-based test: it runs the
program and reports what the program produced, as JSON lines on its stdout; the grader compares outside.

Protocol. stdin: the decimal length of the header, a newline, the JSON header
``{"mode", "code", "fn_name", "inputs", "timeout", "max_output"}``; in ``assert`` mode the rest of stdin is
the assert code (read unbuffered after the solution process is forked, so it never holds a copy). stdout, one JSON object a line::

    {"event": "compile", "ok": true}                       # or ok false + "error"
    {"event": "test", "i": 0, "status": "ok" | "error" | "timeout" | "output_limit", "out": ..., "err": ...}
    {"event": "end", "marker": END_MARKER}                 # written only after the last test finished

Isolation between harness and program: the program never runs in the harness process. ``stdin`` and
``call`` modes fork one child per test (fresh state; per-test timeout enforced by killing the child's
process group). ``assert`` mode forks a *solution server* before the assert code is read and makes the
harness non-dumpable, then runs the assert code here, calling the program's functions over a pipe with
values serialised as tagged JSON: ``__eq__`` / ``__bool__`` tricks, monkeypatched builtins and ``exit(0)``
in the program cannot affect the asserts, and the end marker is reachable only by passing them.
"""

import ast
import builtins
import fcntl
import io
import json
import os
import resource
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback

END_MARKER = "ARCHER-END-OF-TESTS-v1"

# LiveCodeBench prepends these imports to every program (its ``import_string``); same names available here.
_STAR = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
         "statistics", "itertools", "functools", "operator", "io", "sys", "json", "builtins", "typing")
_PLAIN = ("string", "re", "datetime", "collections", "heapq", "bisect", "copy", "math", "random",
          "statistics", "itertools", "functools", "operator", "io", "sys", "json")
PRELUDE = "".join(f"from {m} import *\n" for m in _STAR) + "".join(f"import {m}\n" for m in _PLAIN)
PRELUDE += "sys.setrecursionlimit(50000)\n"

_OUT = None  # result channel (a dup of the original stdout)


def emit(obj):
    _OUT.write(json.dumps(obj) + "\n")
    _OUT.flush()


def _maxfd():
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):
        return 1024


def _tail(b, n=2000):
    s = b.decode("utf-8", "replace")
    return s[-n:]


# --------------------------------------------------------------------------- strict serialisation


def to_plain(x, depth=0):
    """JSON-able copy of a value built only from exact builtin types (subclasses and other objects are
    refused, so a custom ``__eq__`` never reaches the grader). numpy scalars/arrays become lists."""
    if depth > 200:
        raise ValueError("result nested too deeply")
    t = type(x)
    if x is None or t is bool or t is int or t is str or t is float:
        return x
    if t is list or t is tuple:
        return [to_plain(v, depth + 1) for v in x]
    if t is dict:
        out = {}
        for k, v in x.items():
            if type(k) is str:
                out[k] = to_plain(v, depth + 1)
            elif type(k) in (int, float, bool) or k is None:
                out[json.dumps(k)] = to_plain(v, depth + 1)
            else:
                raise TypeError(f"dict key of type {type(k).__name__}")
        return out
    if getattr(t, "__module__", "") == "numpy" and hasattr(x, "tolist"):
        return to_plain(x.tolist(), depth + 1)
    raise TypeError(f"result of type {t.__name__} is not a plain value")


def tag(x, depth=0):
    """Tagged JSON keeping tuples, sets, dicts with any plain keys, bytes, complex (exact types only)."""
    if depth > 200:
        raise ValueError("value nested too deeply")
    t = type(x)
    if x is None or t is bool or t is int or t is str:
        return x
    if t is float:
        return {"F": repr(x)}  # keeps nan/inf exact
    if t is list:
        return [tag(v, depth + 1) for v in x]
    if t is tuple:
        return {"T": [tag(v, depth + 1) for v in x]}
    if t is dict:
        return {"D": [[tag(k, depth + 1), tag(v, depth + 1)] for k, v in x.items()]}
    if t is set or t is frozenset:
        return {"S" if t is set else "FS": [tag(v, depth + 1) for v in x]}
    if t is bytes:
        return {"B": x.hex()}
    if t is complex:
        return {"C": [repr(x.real), repr(x.imag)]}
    if getattr(t, "__module__", "") == "numpy" and hasattr(x, "tolist"):
        return tag(x.tolist(), depth + 1)
    raise TypeError(f"value of type {t.__name__} cannot cross the sandbox boundary")


def untag(x):
    if x is None or type(x) in (bool, int, str):
        return x
    if type(x) is list:
        return [untag(v) for v in x]
    if type(x) is dict and len(x) == 1:
        (k, v), = x.items()
        if k == "F":
            return float(v)
        if k == "T":
            return tuple(untag(e) for e in v)
        if k == "D":
            return {untag(a): untag(b) for a, b in v}
        if k == "S":
            return {untag(e) for e in v}
        if k == "FS":
            return frozenset(untag(e) for e in v)
        if k == "B":
            return bytes.fromhex(v)
        if k == "C":
            return complex(float(v[0]), float(v[1]))
    raise ValueError("malformed tagged value")


# --------------------------------------------------------------------------- child processes


def _child_streams(stdin_fd, stdout_fd, stderr_fd, keep=()):
    """In a fresh child: new process group, fds 0-2 (+ ``keep`` at 3..), everything else closed."""
    os.setpgid(0, 0)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 64) for fd in (stdin_fd, stdout_fd, stderr_fd, *keep)]
    for i, fd in enumerate(high):
        os.dup2(fd, i)
    os.closerange(3 + len(keep), _maxfd())
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding="utf-8", errors="replace")
    sys.stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)), encoding="utf-8", errors="replace")
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr


def _cpu_limit(seconds):
    soft = int(seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _new_namespace(name):
    ns = {"__name__": name, "__builtins__": builtins}
    exec(PRELUDE, ns)
    return ns


def run_child(body, stdin_data, timeout, max_out, max_err=4096, result_pipe=False):
    """Fork, run ``body(res_fd)`` in the child, collect (status, stdout bytes, stderr bytes, result bytes)."""
    mfd = os.memfd_create("stdin")
    os.write(mfd, stdin_data.encode("utf-8"))
    os.lseek(mfd, 0, os.SEEK_SET)
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    r_res, w_res = os.pipe() if result_pipe else (None, None)
    workdir = tempfile.mkdtemp(prefix="test-")  # fresh per test, removed below
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # child: never returns
        code = 1
        try:
            os.chdir(workdir)
            _child_streams(mfd, w_out, w_err, keep=(w_res,) if result_pipe else ())
            _cpu_limit(timeout)
            body(3 if result_pipe else None)
            code = 0
        except SystemExit:
            code = 0  # as LiveCodeBench: exit() ends the program normally; the output is still graded
        except BaseException:
            try:
                traceback.print_exc()
            except BaseException:
                pass
        finally:
            for s in (sys.stdout, sys.stderr):
                try:
                    s.flush()
                except BaseException:
                    pass
            os._exit(code)
    os.close(mfd)
    os.close(w_out)
    os.close(w_err)
    if result_pipe:
        os.close(w_res)
    caps = {r_out: max_out, r_err: max_err}
    bufs = {r_out: bytearray(), r_err: bytearray()}
    if result_pipe:
        caps[r_res] = max_out
        bufs[r_res] = bytearray()
    sel = selectors.DefaultSelector()
    for fd in bufs:
        sel.register(fd, selectors.EVENT_READ)
    status = None
    deadline = t0 + timeout
    open_fds = len(bufs)
    while open_fds and status is None:
        left = deadline - time.monotonic()
        if left <= 0:
            status = "timeout"
            break
        for key, _ in sel.select(min(left, 1.0)):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                sel.unregister(key.fd)
                open_fds -= 1
                continue
            if len(bufs[key.fd]) + len(chunk) > caps[key.fd]:
                if key.fd == r_err:
                    bufs[key.fd] += chunk[: max(0, caps[key.fd] - len(bufs[key.fd]))]
                    continue
                status = "output_limit"
                break
            bufs[key.fd] += chunk
    wstatus = None
    if status is None:
        while True:  # pipes closed: wait for the exit, bounded by the deadline
            wpid, wstatus = os.waitpid(pid, os.WNOHANG)
            if wpid:
                break
            if time.monotonic() >= deadline:
                status = "timeout"
                break
            time.sleep(0.0005)
    try:
        os.killpg(pid, signal.SIGKILL)  # the child's group: whatever it forked dies with it
    except (ProcessLookupError, PermissionError):
        pass
    if wstatus is None:
        _, wstatus = os.waitpid(pid, 0)
    sel.close()
    for fd in bufs:
        os.close(fd)
    shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - t0
    if status is None:
        if os.WIFSIGNALED(wstatus):
            sig = os.WTERMSIG(wstatus)
            status = "timeout" if sig in (signal.SIGXCPU, signal.SIGKILL) and elapsed >= 0.9 * timeout else "error"
            bufs[r_err] += f"\nkilled by signal {sig}".encode()
        else:
            status = "ok" if os.WEXITSTATUS(wstatus) == 0 else "error"
    res = bytes(bufs[r_res]) if result_pipe else b""
    return status, bytes(bufs[r_out]), bytes(bufs[r_err]), res, elapsed


# --------------------------------------------------------------------------- modes


def mode_stdin(hdr, code_obj):
    def body(_):
        ns = _new_namespace("__main__")
        exec(code_obj, ns)

    for i, inp in enumerate(hdr["inputs"]):
        status, out, err, _, dt = run_child(body, inp, hdr["timeout"], hdr["max_output"])
        emit({"event": "test", "i": i, "status": status, "out": out.decode("utf-8", "replace"),
              "err": _tail(err), "t": dt})
        if status != "ok" and hdr.get("fail_fast"):
            break


def mode_call(hdr, code_obj):
    fn_name = hdr["fn_name"]

    def make_body(args):
        def body(res_fd):
            sys.set_int_max_str_digits(0)
            ns = _new_namespace("solution")
            exec(code_obj, ns)
            if "Solution" in ns and isinstance(ns["Solution"], type):
                fn = getattr(ns["Solution"](), fn_name)
            else:
                fn = ns[fn_name]
            result = fn(*args)
            _write_all(res_fd, json.dumps(to_plain(result)).encode())
        return body

    for i, inp in enumerate(hdr["inputs"]):
        args = [json.loads(line) for line in inp.split("\n") if line.strip()] if isinstance(inp, str) else inp
        status, _, err, res, dt = run_child(make_body(args), "", hdr["timeout"], hdr["max_output"], result_pipe=True)
        if status == "ok" and not res:
            status = "error"
            err += b"\nno result (exited before returning)"
        emit({"event": "test", "i": i, "status": status, "out": res.decode("utf-8", "replace"),
              "err": _tail(err), "t": dt})
        if status != "ok" and hdr.get("fail_fast"):
            break


class _Remote:
    """A function of the solution process, callable from the assert code."""

    def __init__(self, server, name):
        self._server, self.__name__ = server, name

    def __call__(self, *args, **kwargs):
        return self._server.request({"op": "call", "name": self.__name__,
                                     "args": tag(list(args)), "kwargs": tag(kwargs)})

    def __repr__(self):
        return f"<solution function {self.__name__}>"


class RemoteError(Exception):
    pass


class RemoteTimeout(Exception):
    pass


class _Server:
    def __init__(self, pid, req_w, resp_r, deadline, max_out):
        self.pid, self.req_w, self.resp_r, self.deadline, self.max_out = pid, req_w, resp_r, deadline, max_out
        self.buf = bytearray()

    def request(self, msg):
        data = (json.dumps(msg) + "\n").encode()
        try:
            os.write(self.req_w, data) if len(data) < 65536 else _write_all(self.req_w, data)
        except BrokenPipeError:
            raise RemoteError("solution process is gone") from None
        while b"\n" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise RemoteTimeout("time limit exceeded")
            sel = selectors.DefaultSelector()
            sel.register(self.resp_r, selectors.EVENT_READ)
            ready = sel.select(left)
            sel.close()
            if not ready:
                continue
            chunk = os.read(self.resp_r, 65536)
            if not chunk:
                raise RemoteError("solution process exited")
            self.buf += chunk
            if len(self.buf) > self.max_out:
                raise RemoteError("result too large")
        line, _, rest = bytes(self.buf).partition(b"\n")
        self.buf = bytearray(rest)
        reply = json.loads(line)
        if type(reply) is not dict:
            raise RemoteError("malformed reply")
        if "exc" in reply:
            raise RemoteError(str(reply["exc"])[:500])
        if "ok" not in reply:
            raise RemoteError("malformed reply")
        return untag(reply["ok"])


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _serve(code_obj, req_r, resp_w):
    """Solution process of assert mode: run the program, then answer calls until EOF."""
    ns = _new_namespace("solution")
    exec(code_obj, ns)
    reader = os.fdopen(req_r, "rb")
    while True:
        line = reader.readline()
        if not line:
            return
        msg = json.loads(line)
        try:
            if msg["op"] == "kind":
                obj = ns.get(msg["name"], _serve)
                reply = {"ok": "missing" if obj is _serve else ("callable" if callable(obj) else "value")}
            elif msg["op"] == "get":
                reply = {"ok": tag(ns[msg["name"]])}
            else:
                result = ns[msg["name"]](*untag(msg["args"]), **untag(msg["kwargs"]))
                reply = {"ok": tag(result)}
        except SystemExit:
            raise
        except BaseException as e:  # reported to the asserts as a runtime error
            reply = {"exc": f"{type(e).__name__}: {e}"[:500]}
        _write_all(resp_w, (json.dumps(reply) + "\n").encode())


def _free_names(tree):
    """Names the assert code reads but never binds: looked up in the solution."""
    bound, loaded = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                bound.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return sorted(loaded - bound - set(dir(builtins)))


def _make_undumpable():
    """PR_SET_DUMPABLE 0: same-uid processes can no longer ptrace us or open /proc/<pid>/{mem,fd,...}."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except Exception:
        pass


def mode_assert(hdr, code_obj, stdin_rest):
    _make_undumpable()
    req_r, req_w = os.pipe()
    resp_r, resp_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:  # solution server: never sees the assert code (not read from stdin yet; fd 0 closed)
        try:
            _child_streams(devnull, devnull, devnull, keep=(req_r, resp_w))
            _cpu_limit(hdr["timeout"])
            _serve(code_obj, 3, 4)
        except BaseException:
            pass
        os._exit(0)
    os.close(req_r)
    os.close(resp_w)
    test_code = stdin_rest()
    status, err = "ok", ""
    server = _Server(pid, req_w, resp_r, t0 + hdr["timeout"], hdr["max_output"])
    try:
        tree = ast.parse(test_code)
        judge = {"__name__": "__judge__", "__builtins__": builtins}
        for name in _free_names(tree):
            kind = server.request({"op": "kind", "name": name})
            if kind == "callable":
                judge[name] = _Remote(server, name)
            elif kind == "value":
                judge[name] = server.request({"op": "get", "name": name})
        exec(compile(tree, "<tests>", "exec"), judge)
    except AssertionError as e:
        status, err = "wrong", f"AssertionError: {e}"[:500]
    except RemoteTimeout:
        status, err = "timeout", "time limit exceeded"
    except BaseException as e:
        status, err = "error", f"{type(e).__name__}: {e}"[:500]
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    os.waitpid(pid, 0)
    emit({"event": "test", "i": 0, "status": status, "out": "", "err": err, "t": time.monotonic() - t0})


def _read_exact(n):
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(0, n - len(buf))
        if not chunk:
            raise EOFError("truncated header")
        buf += chunk
    return bytes(buf)


def _read_header():
    digits = b""
    while not digits.endswith(b"\n"):
        b = os.read(0, 1)
        if not b or len(digits) > 20:
            raise EOFError("bad header length")
        digits += b
    return _read_exact(int(digits)).decode("utf-8")


def _read_rest():
    chunks = []
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            return b"".join(chunks).decode("utf-8")
        chunks.append(chunk)


def main():
    global _OUT
    _OUT = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # stray prints of the harness never hit the channel
    hdr = json.loads(_read_header())
    sys.path.extend(p for p in hdr.get("sys_path", ()) if p not in sys.path)
    try:
        code_obj = compile(hdr["code"], "<solution>", "exec")
    except BaseException as e:  # SyntaxError, ValueError (NUL bytes), RecursionError, MemoryError
        emit({"event": "compile", "ok": False, "error": f"{type(e).__name__}: {e}"[:1000]})
        emit({"event": "end", "marker": END_MARKER})
        return
    emit({"event": "compile", "ok": True})
    exec(PRELUDE, {"__name__": "__warm__"})  # import the prelude once; children inherit the modules
    if hdr["mode"] == "stdin":
        mode_stdin(hdr, code_obj)
    elif hdr["mode"] == "call":
        mode_call(hdr, code_obj)
    elif hdr["mode"] == "assert":
        mode_assert(hdr, code_obj, _read_rest)
    else:
        raise SystemExit(f"unknown mode {hdr['mode']!r}")
    emit({"event": "end", "marker": END_MARKER})


if __name__ == "__main__":
    main()
