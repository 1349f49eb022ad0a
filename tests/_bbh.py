"""A BIG-Bench-Hard CoT prompt file in the shape of bbh/cot-prompts/*.txt (shared by tests)."""

BBH_PROMPT = """-----
Decide whether the walk returns to the start.

Q: Take 1 step. Take 1 step back.
Options:
- Yes
- No
A: Let's think step by step.
One step forward, one back. So the answer is Yes.

Q: Take 2 steps.
Options:
- Yes
- No
A: Let's think step by step.
We end 2 steps away. So the answer is No.

Q: Turn around. Take 3 steps.
Options:
- Yes
- No
A: Let's think step by step.
We end 3 steps away. So the answer is No.
"""
