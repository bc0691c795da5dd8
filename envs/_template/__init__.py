"""Template environment family: copy this folder to start a new one (see README.md here).

This file holds only registrations. ``f"{__name__}.task:..."`` keeps the entry point right
wherever the folder is copied to (``envs/<family>/`` or a package of your own).
"""

from saw_bench.core.registry import register

register(
    id="saw/Template-Echo-v0",
    task=f"{__name__}.task:EchoTask",
    alias="template-echo",  # optional: a short name for --task; change it with the id
    description="template: repeat a code word, briefly",
)
