/**
 * Elastic CPU masks: idle eligible CPUs are lent to running jobs instead of
 * sitting unused, and taken back as soon as new leases need them.
 *
 * Every lease keeps its reserved CPU ids. Spare eligible ids (held by no
 * lease) are dealt round-robin over the leases in grant order, so the oldest
 * jobs get the first extra CPU and the spread stays even. Masks are
 * recomputed whenever the lease set changes; a new lease's reserved ids are
 * no longer spare, so older masks shrink back.
 *
 * @module
 */
import type { Lease } from "./lease_table.ts";

/**
 * Masks per lease id: reserved ids plus a round-robin share of the spare ids.
 *
 * @example
 * ```ts
 * // One one-core lease on a 4-CPU host may use all four CPUs.
 * elasticMasks([{ leaseId: "a", cpuIds: [0], grantedAt: 1 }], [0, 1, 2, 3]); // Map { "a" => [0, 1, 2, 3] }
 * ```
 */
export function elasticMasks(
  leases: readonly Pick<Lease, "leaseId" | "cpuIds" | "grantedAt">[],
  eligibleCpuIds: readonly number[],
): Map<string, number[]> {
  const ordered = leases
    .map((lease, index) => ({ lease, index }))
    .sort((a, b) => a.lease.grantedAt - b.lease.grantedAt || a.index - b.index)
    .map(({ lease }) => lease);
  const reserved = new Set(ordered.flatMap((lease) => lease.cpuIds));
  const spare = [...new Set(eligibleCpuIds)].filter((id) => !reserved.has(id)).sort((a, b) => a - b);
  const masks = new Map<string, number[]>(ordered.map((lease) => [lease.leaseId, [...lease.cpuIds]]));
  if (ordered.length === 0) return masks;
  spare.forEach((id, i) => masks.get(ordered[i % ordered.length].leaseId)!.push(id));
  for (const mask of masks.values()) mask.sort((a, b) => a - b);
  return masks;
}

/** The masks in `next` that differ from `previous`: the ones the host must re-apply. */
export function changedMasks(
  previous: ReadonlyMap<string, readonly number[]>,
  next: ReadonlyMap<string, readonly number[]>,
): Map<string, number[]> {
  const changed = new Map<string, number[]>();
  for (const [leaseId, mask] of next) {
    const before = previous.get(leaseId);
    if (!before || before.length !== mask.length || before.some((id, i) => id !== mask[i])) {
      changed.set(leaseId, [...mask]);
    }
  }
  return changed;
}
