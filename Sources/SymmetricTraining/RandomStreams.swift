import SymmetricNumerics

/// Every random stream of a run, derived from the run's seed in one place. The network's
/// initialisation, the economy's one draw of idiosyncratic shocks and the simulated data are
/// forks of the root generator (in that order); the other streams are the seed plus a fixed
/// offset, mixed with the epoch (or attempt) they belong to, so that a resumed run draws exactly
/// what an uninterrupted one does.
struct RandomStreams {
    let seed: UInt64

    /// Root generator: forks `network`, `shocks`, `data` (in that order).
    var root: SeededGenerator { SeededGenerator(seed: seed) }
    /// Order of the training points in an epoch.
    func shuffle(epoch: Int) -> SeededGenerator { SeededGenerator(seed: seed &+ 0x5eed &+ UInt64(epoch) &* 7919) }
    /// Agents of interest in batch `b` of an epoch (economies that subsample equations).
    func subsample(epoch: Int, batch: Int) -> UInt64 { seed &+ 0x5ab5 &+ UInt64(epoch) &* 1_000_003 &+ UInt64(batch) }
    /// The fixed agents of interest of validation.
    var validationSubsample: UInt64 { seed &+ 0x7a11d }
    /// The fixed agents of the validation estimate (`method.val_pool_sample`).
    var validationPool: UInt64 { seed &+ 0x9001 }
    /// The pooled agents of batch `b` of an epoch (`method.pool_sample`).
    func pool(epoch: Int, batch: Int) -> UInt64 { seed &+ 0x9001_0000 &+ UInt64(epoch) &* 1_000_033 &+ UInt64(batch) }
    /// Shocks of the own-path check after `epochs` epochs.
    func ownPathCheck(epochs: Int) -> SeededGenerator { SeededGenerator(seed: seed &+ 0x0c4ec &+ UInt64(epochs) &* 31) }
    /// Shocks of the paths a refinement adds to the data.
    func refinement(epochs: Int) -> SeededGenerator { SeededGenerator(seed: seed &+ 0xa06_0000 &+ UInt64(epochs) &* 131) }
    /// Shocks of the data that replace the old (`method.refresh_data_every`).
    func refresh(epochs: Int) -> SeededGenerator { SeededGenerator(seed: seed &+ 0xda7a_0000 &+ UInt64(epochs) &* 977) }
    /// Initialisation of the network of a restart.
    func restart(attempt: Int) -> SeededGenerator { SeededGenerator(seed: seed &+ 0xa77e_0000 &+ UInt64(attempt)) }
    /// Shocks of the test paths.
    var test: SeededGenerator { SeededGenerator(seed: seed &+ 0x7e57) }
}
