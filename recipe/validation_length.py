"""In-training validation up to `justrl.validation_max_new_tokens` (31,744) new tokens while training responses stop at
`data.max_response_length` (15,360), as JustRL's run validated.

The published script passed `+actor_rollout_ref.rollout.val_kwargs.max_new_tokens=31744` to its verl 0.4 fork, whose
vLLM engine had `max_model_len` 32,768. verl 0.9.1 has no such key: its agent-loop worker builds the same sampling
settings for training and validation except temperature and top-p (`trainer/ppo/v1/agent_loop_tq.py`
`AgentLoopWorkerTQ.generate_sequences`), the rollout server then caps each request at `response_length`
(`vllm_async_server.py`, "Cap max_tokens by response_length"), and the single-turn agent loop cuts the response there
too (`experimental/agent_loop/single_turn_agent_loop.py`, `response_ids[: self.response_length]`). verl reads the
length of a request from its sampling settings (`max_tokens`) up to the engine's `max_model_len`, and the v1 trainer
stores responses unpadded, so two of verl's extension points suffice:
- `actor_rollout_ref.rollout.agent.agent_loop_manager_class=recipe.validation_length.ValidationLengthAgentLoopManager`:
  verl's own v1 manager, which hands a validation batch's samples one more field, `validation_max_new_tokens`
  (every field of a sample reaches its agent loop as a keyword);
- `actor_rollout_ref.rollout.agent.default_agent_loop=justrl_single_turn`: verl's single-turn agent loop, which for a
  sample with that field asks the server for that many tokens and cuts the response there instead of at
  `response_length`. Training samples have no such field: their requests and responses are verl's.
The reward scores the whole response (verl's worker computes it from the agent loop's output), so validation scores
what the published run scored.
"""

from __future__ import annotations

from typing import Any

from tensordict.tensorclass import NonTensorData
from verl.experimental.agent_loop.agent_loop import AgentLoopOutput, register
from verl.experimental.agent_loop.single_turn_agent_loop import SingleTurnAgentLoop
from verl.trainer.ppo.v1.agent_loop_tq import AgentLoopManagerTQ

AGENT_LOOP = "justrl_single_turn"
FIELD = "validation_max_new_tokens"  # the sample field, from the recipe key justrl.validation_max_new_tokens


@register(AGENT_LOOP)
class ValidationLengthAgentLoop(SingleTurnAgentLoop):
    """verl's single-turn agent loop; a sample that carries `validation_max_new_tokens` is generated and kept up to
    that many tokens."""

    async def run(self, sampling_params: dict[str, Any], priority: int = 0, **kwargs) -> AgentLoopOutput:
        max_new_tokens = kwargs.pop(FIELD, None)
        if max_new_tokens:
            sampling_params = {**sampling_params, "max_tokens": int(max_new_tokens)}
            self.response_length = int(max_new_tokens)  # this sample's loop only: verl builds one per request
        return await super().run(sampling_params, priority=priority, **kwargs)


class ValidationLengthAgentLoopManager(AgentLoopManagerTQ):
    """verl's v1 agent-loop manager; a validation batch's samples carry `validation_max_new_tokens`."""

    def generate_sequences(self, prompts) -> None:
        max_new_tokens = self.config.get("justrl", {}).get("validation_max_new_tokens")
        if max_new_tokens and "validate" in prompts.keys() and bool(prompts["validate"]):
            prompts[FIELD] = NonTensorData(int(max_new_tokens))
        return super().generate_sequences(prompts)
