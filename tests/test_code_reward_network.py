"""No network: a connect to a listener of the grader on 127.0.0.1 fails (new network namespace)."""
import pytest

from archer.reward.code import sandbox as sb
from archer.reward.code.grader import compute_code_score


import socket
from code_reward_support import resp, stdin_gt


def test_connect_to_local_listener_is_blocked():
    if sb.detect_isolation() == "none":
        pytest.skip("no network namespace available (neither bwrap nor unshare -n works here)")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.5)
    port = srv.getsockname()[1]
    prog = (f"import socket\ns = socket.socket()\ns.settimeout(2)\n"
            f"try:\n    s.connect(('127.0.0.1', {port}))\n    s.sendall(b'leak')\n    print('connected')\n"
            f"except OSError as e:\n    print('blocked')")
    try:
        r = compute_code_score("code", resp(prog), stdin_gt(("", "connected")))
        assert r["score"] == 0.0 and r["failure_kind"] == "wrong answer"
        with pytest.raises(socket.timeout):
            srv.accept()
        r = compute_code_score("code", resp(prog), stdin_gt(("", "blocked")))
        assert r["acc"]  # the program itself saw the connect fail
    finally:
        srv.close()


def test_no_external_interfaces():
    prog = "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=1)\n    print('up')\nexcept OSError:\n    print('down')"
    if sb.detect_isolation() == "none":
        pytest.skip("no network namespace available")
    assert compute_code_score("code", resp(prog), stdin_gt(("", "down")))["acc"]
