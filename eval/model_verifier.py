"""The model verifier for answers the rules reject: CompassVerifier-3B (opencompass/CompassVerifier-3B), with vLLM.

As published: every rule-rejected response goes to the verifier with CompassVerifier's official prompt template (the
input format the model was trained with, `CV_PROMPT` in CompassVerifier's `src/prompts.py`, Apache-2.0, reproduced
character for character below; the published evaluation used the same text), the whole response, through the
verifier's own chat template (vLLM's `LLM.chat`), greedy decoding with up to 2,048 new tokens; the response is
correct iff the verifier's stripped output is exactly "A" ("B" incorrect, "C" invalid: cut off or repetitive).
The published scripts always left the question empty; the `published` protocol does the same, and our `lenient`
protocol gives the verifier the question.
"""

from __future__ import annotations

DEFAULT_MODEL = "opencompass/CompassVerifier-3B"
MAX_TOKENS = 2048

# fmt: off
COMPASS_VERIFIER_TEMPLATE = "\n".join(
    (
        "",
        "Please as a grading expert, judge whether the final answers given by the candidates below are co"
        "nsistent with the standard answers, that is, whether the candidates answered correctly. ",
        "Here are some evaluation criteria:",
        "1. Please refer to the given standard answer. You don't need to re-generate the answer to the qu"
        "estion because the standard answer has been given. You only need to judge whether the candidate'"
        "s answer is consistent with the standard answer according to the form of the question. THE STAND"
        "ARD ANSWER IS ALWAYS CORRECT AND THE QUESTION IS PERFECTLY VALID. NEVER QUESTION THEM.",
        "2. ONLY compare the FINAL ANSWER - COMPLETELY IGNORE any potential errors in the REASONING PROCE"
        "SSES.",
        "3. Some answers may be expressed in different ways, such as some answers may be a mathematical e"
        "xpression, some answers may be a textual description, as long as the meaning expressed is the sa"
        "me. Before making a judgment, please understand the question and the standard answer first, and "
        "then judge whether the candidate's answer is correct.",
        "4. Some answers may consist of multiple items, such as multiple-choice questions, multiple-selec"
        "t questions, fill-in-the-blank questions, etc. Regardless of the question type, the final answer"
        " will be considered correct as long as it matches the standard answer, regardless of whether the"
        " reasoning process is correct. For multiple-select questions and multi-blank fill-in-the-blank q"
        "uestions, all corresponding options or blanks must be answered correctly and match the standard "
        "answer exactly to be deemed correct.",
        "5. If the prediction is given with \\boxed{{}}, please ignore the \\boxed{{}} and only judge wheth"
        "er the candidate's answer is consistent with the standard answer.",
        "6. If the candidate's answer is invalid (e.g., incomplete (cut off mid-response), lots of unnorm"
        "al repetitive content, or irrelevant to the question, saying it can't answer the question becaus"
        "e some irresistible factors, like ethical issues, no enough information, etc.), select option C "
        "(INVALID).Please judge whether the following answers are consistent with the standard answer bas"
        "ed on the above criteria. Grade the predicted answer of this new question as one of:",
        "A: CORRECT ",
        "B: INCORRECT",
        "C: INVALID",
        "Just return the letters \"A\", \"B\", or \"C\", with no text around it.",
        "Here is your task. Simply reply with either CORRECT, INCORRECT, or INVALID. Don't apologize or c"
        "orrect yourself if there was a mistake; we are just trying to grade the answer.",
        "<Original Question Begin>:",
        "{question}",
        "<Original Question End>",
        "<Standard Answer Begin>:",
        "{gold_answer}",
        "<Standard Answer End>",
        "<Candidate's Answer Begin>: ",
        "{llm_response}",
        "<Candidate's Answer End>",
        "Judging the correctness of the candidate's answer:",
        "",
    )
)
# fmt: on


def verifier_prompt(question: str, gold: str, response: str) -> str:
    """The verifier's user message: the official template around the question, the ground truth, the response."""
    return COMPASS_VERIFIER_TEMPLATE.format(question=question, gold_answer=gold, llm_response=response)


def judged_correct(output: str) -> bool:
    """The published reading of the verifier's output: correct iff it is exactly "A" once stripped."""
    return output.strip() == "A"


def chat_requests(items: list[tuple[str, str, str]]) -> list[list[dict[str, str]]]:
    """One chat (a single user message) per (question, gold, response), for vLLM's `LLM.chat`."""
    return [[{"role": "user", "content": verifier_prompt(*item)}] for item in items]


class ModelVerifier:
    """A vLLM engine holding the verifier (on the first visible GPU, or on CPU when there is none: eval.backends'
    CPU settings); `judge` returns one bool per (question, gold, response)."""

    def __init__(self, model: str = DEFAULT_MODEL, max_model_len: int | None = None, **engine_kwargs):
        from vllm import LLM, SamplingParams

        from eval.backends import engine_settings, visible_devices

        self.model = model
        device = visible_devices()[0]
        self.llm = LLM(**engine_settings(device, model=model, max_model_len=max_model_len, **engine_kwargs))
        self.params = SamplingParams(temperature=0.0, max_tokens=MAX_TOKENS)

    def outputs(self, items: list[tuple[str, str, str]]) -> list[str]:
        results = self.llm.chat(chat_requests(items), self.params, use_tqdm=True)
        return [result.outputs[0].text for result in results]

    def judge(self, items: list[tuple[str, str, str]]) -> list[bool]:
        return [judged_correct(text) for text in self.outputs(items)]
