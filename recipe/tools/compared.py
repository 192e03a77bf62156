"""The compared methods' published values, restated from their sources independently of their overlays, so that
`python -m recipe.tools.fidelity` checks recipe/ablation/{prorl,brorl,questa}.yaml and their stage lists as it checks
the recipe. Sources: ProRL v1 (arXiv 2505.24864), ProRL v2 (NVIDIA's blog, Aug 2025), BroRL
(arXiv 2510.01180), QuestA (foreverlasting1202/QuestA AReaL/scripts/partial_50_grpo.yaml). Values the sources do not
publish are not listed: the overlays say which value they use instead.
"""

from __future__ import annotations

A = "actor_rollout_ref.actor."
R = "actor_rollout_ref.rollout."

PUBLISHED_COMPARED: dict[str, dict[str, object]] = {
    "prorl": {  # ProRL v1
        A + "clip_ratio_low": 0.2,  # §3.2
        A + "clip_ratio_high": 0.4,  # §3.2
        R + "temperature": 1.2,  # §3.2
        R + "n": 16,  # §3.2
        A + "optim.lr": 2e-6,  # §3.2
        A + "optim.lr_scheduler_type": "constant",  # §3.2
        "data.train_batch_size": 256,  # §3.2
        A + "ppo_mini_batch_size": 64,  # §3.2
        "data.max_response_length": 8192,  # §3.3: 8k for most of training
        A + "use_kl_loss": True,  # §2.3.1 eq. 4
        "algorithm.filter_groups.enable": True,  # §2.3, §3.2
    },
    "brorl": {
        R + "n": 512,  # §4.2.1
        "data.train_batch_size": 128,  # Table 1, Table 3
        "data.max_response_length": 16384,  # §4.2.1
        "algorithm.filter_groups.enable": True,  # Table 2
        A + "ppo_mini_batch_size": 32,  # §4.2.1: ProRL's number of mini-batches (4) a step
        "trainer.total_training_steps": 191,  # §4: JustRL's BroRL row
    },
    "questa": {  # partial_50_grpo.yaml [key]
        "data.train_batch_size": 128,  # [train_dataset.batch_size]
        "data.max_prompt_length": 4096,  # [rlvr.max_prompt_len]
        "data.max_response_length": 24000,  # [rlvr.gconfig.max_new_tokens]
        R + "n": 16,  # [rlvr.gconfig.n_samples]
        A + "optim.lr": 2e-5,  # [optimizer.lr]
        A + "optim.weight_decay": 0.05,  # [weight_decay]
        A + "optim.betas": [0.9, 0.95],  # [beta1, beta2]
        A + "clip_ratio_low": 0.2,  # [eps_clip]
        A + "clip_ratio_high": 0.2,  # [eps_clip]
        "algorithm.adv_estimator": "reinforce_plus_plus",  # [adv_norm true, group_adv_norm false] (AReaL defaults)
    },
}

# Stage lists: (file, {stage name: {key: published value}}, published total steps or None)
PUBLISHED_STAGES: dict[str, tuple[dict[str, dict[str, object]], int | None]] = {
    # Appendix F: 32 samples in runs 6-7, 16 again in run 8 with 16k responses; ~2,450 steps (JustRL Table 4)
    "prorl": (
        {
            "run5": {R + "n": 16},
            "run6": {R + "n": 32},
            "run7": {R + "n": 32},
            "run8": {R + "n": 16, "data.max_response_length": 16384},
        },
        2450,
    ),  # fmt: skip
    "prorl_v2": ({"s2": {"algorithm.adv_estimator": "reinforce_plus_plus_baseline"}}, None),  # the blog
    "questa": ({}, 2000),  # JustRL Table 6
}
STAGE_STARTS = {"prorl": "reset", "prorl_v2": "reference"}  # v1: reference and optimizer reset; v2: the optimizer kept
RESET_EVERY = {"prorl_v2": (200, 500)}  # the blog: every 200-500 steps
