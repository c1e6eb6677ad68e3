"""AI capacity planner: time, energy, carbon and cost of training and serving models."""
