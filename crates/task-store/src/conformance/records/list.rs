//! The list of record cases, kept in one place: the test macro and
//! [`RECORD_CASES`](super::RECORD_CASES) are both expanded from it.

/// Call `$callback! { prefix… case, case, … }` with the list of record cases.
///
/// Add a new case here (and to its file in [`cases`](super::cases)).
#[doc(hidden)]
#[macro_export]
macro_rules! __record_case_list {
    ([$($callback:tt)*] ( $($prefix:tt)* )) => {
        $($callback)*! {
            $($prefix)*
            create_record_assigns_id_and_timestamps,
            create_record_keeps_given_fields,
            create_record_with_taken_id_fails,
            create_record_rejects_bad_input,
            record_integer_beyond_i64_is_invalid_input,
            create_record_task_size_limit_is_exact,
            create_record_maps_size_limit_is_exact,
            update_record_merged_size_limit_is_exact,
            get_record_missing_fails,
            update_record_merges_maps,
            update_record_tracks_finished_at,
            update_record_missing_or_invalid_fails,
            update_record_concurrent_updates_are_not_lost,
            list_records_filters_by_status_tags_and_task,
            list_records_is_scoped_by_experiment,
            experiments_lists_names_with_records,
            delete_record_removes_artifacts,
            put_artifact_round_trips_bytes,
            put_artifact_replaces_existing,
            put_artifact_over_16_mb_round_trips,
            put_artifact_on_missing_record_fails,
            get_artifact_missing_fails,
            delete_artifact_reports_existence,
        }
    };
}

/// Turn the case list into `&[&str]` (used for [`RECORD_CASES`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __record_case_names {
    ($($case:ident),* $(,)?) => {
        &[$(stringify!($case)),*]
    };
}
