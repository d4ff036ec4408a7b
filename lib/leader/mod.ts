// The public face of leader election: one candidate in a Lease election, client-go's semantics.
export {
  LeaderElectionConfigError,
  type LeaderElectionOptions,
  LeaderElector,
  type LeaseApi,
} from "./election.ts";
