/**
 * The three result tables of an analysis job, declared once: the Arrow frames a job keeps while it
 * waits and the SQLite tables it appends to at home have these columns, in this order.
 *
 * @module
 */

/** How a column is stored: Arrow utf8/int32/float64/bool, SQLite TEXT/INTEGER/REAL/INTEGER (0/1). */
export type ColumnKind = "text" | "integer" | "real" | "boolean";

/** One result table. */
export interface TableSchema {
  readonly name: ResultTable;
  readonly columns: readonly (readonly [name: string, kind: ColumnKind])[];
}

export type ResultTable = "job_summary" | "feature_summary" | "prediction_summary";

/** One row per job: where and how it ran, and how well the model did. */
export const JOB_SUMMARY: TableSchema = {
  name: "job_summary",
  columns: [
    ["campaign_id", "text"],
    ["job_id", "text"],
    ["seed", "integer"],
    ["host", "text"],
    ["row_count", "integer"],
    ["feature_count", "integer"],
    ["train_rows", "integer"],
    ["test_rows", "integer"],
    ["estimator_trees", "integer"],
    ["tree_nodes", "integer"],
    ["accuracy", "real"],
    ["target_runtime_seconds", "real"],
    ["data_seconds", "real"],
    ["train_seconds", "real"],
    ["predict_seconds", "real"],
    ["padding_seconds", "real"],
    ["compute_seconds", "real"],
    ["started_at", "text"],
    ["completed_at", "text"],
    ["cpu_core_ids", "text"],
    ["cpu_affinity_supported", "boolean"],
    ["cpu_affinity_enforced", "boolean"],
    ["cpu_affinity_error", "text"],
  ],
};

/** One row per feature: what it is and how much the forest relied on it. */
export const FEATURE_SUMMARY: TableSchema = {
  name: "feature_summary",
  columns: [
    ["campaign_id", "text"],
    ["job_id", "text"],
    ["feature", "text"],
    ["feature_index", "integer"],
    ["role", "text"],
    ["importance", "real"],
    ["importance_rank", "integer"],
    ["mean", "real"],
    ["std", "real"],
  ],
};

/** One row per class of the held-out rows: counts, precision, recall. */
export const PREDICTION_SUMMARY: TableSchema = {
  name: "prediction_summary",
  columns: [
    ["campaign_id", "text"],
    ["job_id", "text"],
    ["class_label", "integer"],
    ["actual_count", "integer"],
    ["predicted_count", "integer"],
    ["correct_count", "integer"],
    ["precision", "real"],
    ["recall", "real"],
    ["mean_probability", "real"],
  ],
};

/** The tables in the order a job writes them. */
export const RESULT_TABLES: readonly TableSchema[] = [JOB_SUMMARY, FEATURE_SUMMARY, PREDICTION_SUMMARY];

/** A frame: one array of values per column, all of the same length. */
export type Frame = Record<string, (string | number | boolean)[]>;
