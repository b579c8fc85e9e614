/** cluster-key-slot (ioredis's own slot hash) ships no types; these are the two functions fenqi uses. */
declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0..16383) of a key, honouring its `{hash tag}`. */
  function calculateSlot(key: string | Buffer): number;
  namespace calculateSlot {
    /** The one slot of all the keys, or -1 when they span slots. */
    function generateMulti(keys: readonly (string | Buffer)[]): number;
  }
  export = calculateSlot;
}
