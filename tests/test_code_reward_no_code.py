"""Code extraction: last python / py / python3 / Python / untagged block after </think>; else "no code"."""
import pytest

from archer.reward.code.grader import compute_code_score



from archer.reward.code.extract import extract_code
from code_reward_support import stdin_gt


@pytest.mark.parametrize("tag", ["python", "py", "python3", "Python", ""])
def test_accepted_tags(tag):
    assert extract_code(f"<think>```python\nprint(0)\n```</think>\n```{tag}\nprint(1)\n```") == "print(1)\n"


def test_last_block_wins_and_other_languages_skipped():
    text = "</think>```python\nprint(1)\n```\n```python\nprint(2)\n```\n```cpp\nint main(){}\n```"
    assert extract_code(text) == "print(2)\n"


@pytest.mark.parametrize("text", [
    "no fences at all",
    "<think>```python\nprint(1)\n```  (still thinking, truncated",
    "</think>```cpp\nint main(){}\n```",
    "</think>```python\nprint(1)\n",  # unterminated
    "</think>```python\n   \n```",
    None,
])
def test_no_code(text):
    assert extract_code(text) is None
    r = compute_code_score("code", text, stdin_gt(("", "1"), ("", "1")))
    assert r == {"score": 0.0, "acc": False, "passed": 0, "total": 2, "failure_kind": "no code", "isolation": "",
                 "code_timeout": False, "sandbox_wait_s": 0.0}
