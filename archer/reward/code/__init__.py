"""Code reward: program extraction (extract), ground-truth tests (testcases), the sandbox (sandbox, with
the in-sandbox harness), output comparison (compare), and the local / SandboxFusion graders (grader,
remote). See docs/reward_code.md."""
