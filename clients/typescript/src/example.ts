/**
 * How the frontend types its calls with the generated `paths` (src/lfi-api.d.ts, made by
 * `make client` from the gateway's merged OpenAPI document).
 *
 * Type-checked with `tsc --noEmit` on every `make client`: if an operation used here leaves the
 * API or changes shape, the build fails.
 */
import type { components, paths } from "./lfi-api";

/** The paths that answer GET. */
export type GetPath = {
  [P in keyof paths]: paths[P] extends { get: unknown } ? P : never;
}[keyof paths];

/** The JSON body of a path's successful (200) GET answer. */
export type GetOk<P extends GetPath> = paths[P] extends {
  get: { responses: { 200: { content: { "application/json": infer Body } } } };
}
  ? Body
  : never;

/** As {@link GetOk}, for a path that may not be in the API yet (`never` until it is). */
export type GetOkIfServed<P extends string> = P extends GetPath ? GetOk<P> : never;

/** Every error is an RFC 9457 problem. */
export type Problem = components["schemas"]["Problem"];

/** The platform's readiness, spelled out the long way. */
export type PlatformReadiness =
  paths["/health/ready"]["get"]["responses"]["200"]["content"]["application/json"];

/** A referral list page, once the referrals service serves `GET /v1/referrals`. */
export type ReferralPage = GetOkIfServed<"/v1/referrals">;

export class LfiApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title);
  }
}

/** GET a path without parameters; the answer is typed by the path. */
export async function apiGet<P extends GetPath>(
  baseUrl: string,
  path: P,
  token?: string,
): Promise<GetOk<P>> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token !== undefined) {
    headers["Authorization"] = `Bearer ${token}`;
  }
  const response = await fetch(`${baseUrl}${path}`, { headers });
  if (!response.ok) {
    throw new LfiApiError(response.status, (await response.json()) as Problem);
  }
  return (await response.json()) as GetOk<P>;
}

/** The services that are not ready (an empty list when all are). */
export async function servicesNotReady(baseUrl: string): Promise<string[]> {
  const report: PlatformReadiness = await apiGet(baseUrl, "/health/ready");
  return report.not_ready;
}
