// BullMQ sandboxed processor for the peer benchmark: the same no-op and the same result as
// Sluice's `diagnostic.sleep {seconds: 0}`. Plain JavaScript, so BullMQ's child needs no loader.
module.exports = async () => ({ slept_seconds: 0, soft_limit_hit: false, pid: process.pid });
