"""Model verifier for answers the rules reject (the published protocol used CompassVerifier-3B), run with vLLM.

Unlike the published scripts, the verifier is given the question (theirs was always empty), the ground truth and
the final part of the response. Greedy decoding; a judgement of "A" means correct.
"""

from __future__ import annotations

TAIL_CHARS = 4_000  # the final part of the response the verifier reads

PROMPT = """Please as a grading expert, judge whether the final answers given by the candidates below are consistent \
with the standard answers, that is, whether the candidates answered correctly.

Here are some evaluation criteria:
1. Please refer to the given standard answer. You don't need to re-generate the answer to the question because the \
standard answer has been given. You only need to judge whether the candidate's answer is consistent with the \
standard answer according to the form of the question. THE STANDARD ANSWER IS ALWAYS CORRECT AND THE QUESTION IS \
PERFECTLY VALID. NEVER QUESTION THEM.
2. Some answers may be expressed in different ways, such as some answers may be a mathematical expression, some \
answers may be a textual description, as long as the meaning expressed is the same. Before making a judgment, \
please understand the question and the standard answer first, and then judge whether the candidate's answer is \
correct.
3. Some answers may consist of multiple items. The candidate's answer is correct only if all items match.
4. Judge only the candidate's final answer.

Please judge whether the following answers are consistent with the standard answer based on the above criteria. \
Grade them as either:
A: CORRECT
B: INCORRECT
C: INVALID
Just return the letters "A", "B", or "C", with no text around it.

<Original Question Begin>: {question} <Original Question End>
<Standard Answer Begin>: {gold} <Standard Answer End>
<Candidate's Answer Begin>: {answer} <Candidate's Answer End>

Judging the correctness of the candidate's answer:"""


def verifier_prompt(question: str, gold: str, response: str) -> str:
    return PROMPT.format(question=question, gold=gold, answer=response[-TAIL_CHARS:])


class ModelVerifier:
    """A vLLM engine holding the verifier model; `judge` returns one bool per (question, gold, response)."""

    def __init__(self, model: str):
        from vllm import LLM, SamplingParams

        self.llm = LLM(model=model, max_model_len=8192)
        self.tokenizer = self.llm.get_tokenizer()
        self.params = SamplingParams(temperature=0.0, max_tokens=4)

    def judge(self, items: list[tuple[str, str, str]]) -> list[bool]:
        prompts = [
            self.tokenizer.apply_chat_template(
                [{"role": "user", "content": verifier_prompt(*item)}], add_generation_prompt=True, tokenize=False
            )
            for item in items
        ]
        outputs = self.llm.generate(prompts, self.params, use_tqdm=False)
        return [out.outputs[0].text.strip().startswith("A") for out in outputs]
