"""GRPO training on TRL with rewardkit rewards: the entry script, the tiny local model, configs."""
