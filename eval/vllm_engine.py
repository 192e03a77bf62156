"""One vLLM engine for `eval.backends.VLLMBackend`, in a process of its own: `python -m eval.vllm_engine --fd N`.

Started from this entry module (as `reward.checker_host` is), so neither it nor the processes vLLM starts ever re-run
the caller's main module: a script without a main guard, stdin, a thread or a notebook start engines as a guarded
script does. It talks over one end of a socket pair: first (device, LLM settings) in; then ("ready", device) out;
then lists of (Request, Sampling) in and ("outputs", [Output, ...]) out, each output as its request finishes;
("error", device, traceback) if anything fails. It exits, stopping its engine, when the caller closes its end (at
exit, on SIGTERM or SIGKILL alike), even mid-generation.
"""

from __future__ import annotations

import argparse
import os
import traceback
from multiprocessing.connection import Connection

from eval.backends import Output


def serve(conn: Connection) -> None:
    device, settings = conn.recv()
    if device != "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = device  # before vLLM and torch see the GPUs
    engine = None
    try:
        from vllm import LLM, SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind

        engine = LLM(**settings).llm_engine
        conn.send(("ready", device))
        keys: dict[str, tuple] = {}
        serial = 0
        while True:
            if not keys or conn.poll():  # wait for work only when the engine has none
                try:
                    batch = conn.recv()
                except EOFError:  # the caller is done, or gone
                    return
                for request, sampling in batch:
                    serial += 1
                    keys[str(serial)] = request.key
                    # FINAL_ONLY, as LLM.generate sets it: no output for a request until it finishes
                    params = SamplingParams(
                        temperature=sampling.temperature,
                        top_p=sampling.top_p,
                        max_tokens=sampling.max_new_tokens,
                        seed=request.seed,
                        output_kind=RequestOutputKind.FINAL_ONLY,
                    )
                    engine.add_request(str(serial), TokensPrompt(prompt_token_ids=request.prompt_ids), params)
                continue
            finished = [o for o in engine.step() if o.finished]
            if finished:
                conn.send(("outputs", [
                    Output(keys.pop(o.request_id), o.outputs[0].text, len(o.outputs[0].token_ids),
                           o.outputs[0].finish_reason or "", len(o.prompt_token_ids))
                    for o in finished
                ]))  # fmt: skip
    except (BrokenPipeError, ConnectionResetError):  # the caller is gone
        return
    except BaseException:
        try:
            conn.send(("error", device, traceback.format_exc()))
        except OSError:
            pass
        raise
    finally:
        if engine is not None:  # stops vLLM's engine-core process with it
            engine.engine_core.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fd", type=int, required=True, help="this process's end of the caller's socket pair")
    serve(Connection(parser.parse_args().fd))


if __name__ == "__main__":
    main()
