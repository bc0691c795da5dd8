"""Tool calling: ToolRL output format, objectives format {0,1} and correctness [-3,3]."""

from saw_bench.core.registry import register

register(
    id="saw/ToolCall-Synth-v2",
    task="saw_bench.envs.toolcall.synth:ToolCallSynthV2Task",
    alias="toolcall",
    description="ToolCall-Synth-v1 with brevity of the think block, learned early, as a fourth "
    "objective",
)
register(
    id="saw/ToolCall-Synth-v1",
    task="saw_bench.envs.toolcall.synth:ToolCallSynthV1Task",
    description="ToolCall-Synth with brevity of the whole answer, against correctness",
    former_aliases=("toolcall",),
)
register(
    id="saw/ToolCall-Synth-v0",
    task="saw_bench.envs.toolcall.synth:ToolCallSynthTask",
    description="procedural tool calling: 40+ functions, one, two or no calls (board records)",
    former_aliases=("toolcall",),
)
register(
    id="saw/ToolCall-Synth-3obj-v0",
    task="saw_bench.envs.toolcall.synth:ToolCallSynthTask",
    description="ToolCall-Synth with a third objective, brevity of the think block",
    brevity=True,
)
register(
    id="saw/ToolCall-ToolRL-v0",
    task="saw_bench.envs.toolcall.toolrl:ToolCallToolRLTask",
    description="ToolRL's rlla_4k training data (the SAW paper's) from a local file: data_path=",
)
register(
    id="saw/ToolCall-BFCL-v0",
    task="saw_bench.envs.toolcall.bfcl:ToolCallBFCLTask",
    description="BFCL v4 single-turn AST categories, scored by the official checker",
)
