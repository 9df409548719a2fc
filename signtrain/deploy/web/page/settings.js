// The stream's windowing and decision settings at a frame rate: signtrain's LiveSettings.of
// (signtrain/deploy/live.py), from the facts settings.json carries about the training recordings.

// Python's round(): halves to even
export function pyRound(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function settingsFor(facts, fps = null) {
  const trained = facts.fps || facts.default_fps;
  const rate = (fps || trained) / trained;
  const at = fps || trained;
  const span = Math.max(2, pyRound((facts.recording_frames || facts.length) * rate));
  return {
    span, length: facts.length, resample: facts.resample, truncate: facts.truncate,
    motion: facts.motion || facts.default_motion,
    gap: Math.max(2, pyRound(facts.gap_seconds * at)),
    wait: Math.min(Math.floor(span / 2), pyRound(facts.wait_seconds * at)),
    stride: 1,
    threshold: facts.threshold, hold: facts.hold,
    // per sign, the raw frames its movement typically spans (0: not known), at this rate
    sign_frames: (facts.sign_frames || []).map((v) => (v ? pyRound(v * rate) : 0)),
  };
}
