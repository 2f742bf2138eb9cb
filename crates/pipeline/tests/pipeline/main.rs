//! The pipeline's integration tests, one binary (link time dominates CI):
//! generators against Qlib's worked examples and properties, workers and
//! trainers on the memory and SQLite stores, collectors and ensembles.

#[macro_use]
mod support;

mod collectors;
mod generate_bugfixes;
mod generate_periods;
mod generate_properties;
mod generate_task_generator;
mod generate_worked_examples;
mod trainer_in_process;
mod trainer_through_store;
mod worker_artifacts;
mod worker_command;
mod worker_loop;
mod worker_wait;
