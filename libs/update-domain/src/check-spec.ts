/**
 * A health check of the trial after an update (HealthPolicy.checks of the desired update), as the
 * validated desired update carries it: the orchestrator runs it, its trial judges the results.
 */
export interface CheckSpec {
  name: string;
  command: string[];
  required: boolean;
  timeoutSeconds: number;
  offNode: boolean;
}
