// Continuous recognition in the browser: the same windows and decision rule as signtrain's
// Python Recognizer (signtrain/deploy/live.py), line for line, so that the page says what
// `signtrain predict --stream` says.  Shared golden vectors (tests/golden/live.json) are run
// through both implementations by the test suites, so the two cannot drift apart.

export const MIN_MOVING = 2;      // frames of movement below which a stretch is a twitch
export const TAIL_LENGTHS = 1.5;  // a sign's typical extents within which the same sign again is its tail
export const REPEAT_LENGTHS = 0.85;  // share of a sign's typical extent from which a short stretch right after it is it again
export const PIECE_LENGTHS = 0.6;  // share of a sign's typical extent under which a stretch read as it may be a piece
export const REPEAT_SPAN = 0.7;   // share of a recording's span before the same sign can be said again (no extents)
export const LONGEST = 2;         // a finished stretch is seen whole up to this many spans
export const SHORT_SURE = 0.7;    // probability a stretch shorter than half a recording needs to be said
export const WHOLE_SURE = 0.9;    // ... from which it is a whole sign at once, not waited on for the rest of one
export const INSIDE_SURE = 0.8;   // probability a sign needs to be said inside a long stretch (mean of SMOOTH frames' windows)
export const SMOOTH = 5;          // frames whose windows' mean a decision inside a long stretch reads

// float32 differences, a float64 mean (as live.movement)
export function movement(previous, frame) {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += Math.abs(Math.fround(frame[i] - previous[i]));
  return sum / frame.length;
}

// nearest-frame resampling to `length` frames (numpy: floor(linspace(0, n - 1, length) + 0.5))
export function resampleIndex(n, length) {
  const index = new Array(length);
  const step = length > 1 ? (n - 1) / (length - 1) : 0;
  for (let i = 0; i < length; i++) index[i] = Math.floor((i === length - 1 && length > 1 ? n - 1 : i * step) + 0.5);
  return index;
}

// pad at the end with zero frames, or cut as data.truncate says
export function fitLength(frames, length, truncate) {
  const n = frames.length;
  if (n >= length) {
    const start = { keep_start: 0, keep_end: n - length, keep_center: Math.floor((n - length) / 2) }[truncate];
    return frames.slice(start, start + length);
  }
  const width = frames[0].length;
  return frames.concat(Array.from({ length: length - n }, () => new Float32Array(width)));
}

// the first index of the largest value (numpy's argmax)
export function argmax(values) {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

export class Recognizer {
  // predict(window: Float32Array[] of settings.length frames) -> Promise<Float32Array probabilities>
  constructor(predict, labels, settings, onEmission = null) {
    this.predict = predict;
    this.labels = labels;
    this.s = settings;
    this.onEmission = onEmission;
    this.capacity = LONGEST * settings.span + Math.max(settings.gap, settings.wait) + 1;
    this.recent = [];
    this.frames = 0;
    this.decisions = 0;
    this.emissions = [];
    this.first = null;
    this.active = false; this.start = 0; this.moving = 0; this.still = 0;
    this.absent = 0;
    this.returned = false;  // the current stretch began after `gap` frames with nothing detected
    this.unsaid = null;  // { start, moving, end, returned } of the last stretch if read below its bar
    this.classified = null;
    this.said = null;
    this.saidFrom = 0;  // first frame of the stretch (or window) that said the last sign
    this.run = 0; this.runLabel = -1;
    this.inside = [];  // the windows read inside the current long stretch over the last SMOOTH frames
    this.insideCapacity = Math.max(1, Math.ceil(SMOOTH / settings.stride));
  }

  async push(frame) {
    frame = Float32Array.from(frame);
    if (this.first === null) this.first = frame;
    const present = frame.some((v) => v !== 0);  // nothing detected: all values zero
    const absentBefore = this.absent;
    this.absent = present ? 0 : this.absent + 1;
    const moved = present && this.recent.length > 0 && movement(this.recent[this.recent.length - 1], frame) > this.s.motion;
    this.remember(frame);
    const t = this.frames;
    this.frames += 1;
    let said = [];
    if (moved) {
      if (!this.active) {
        this.active = true; this.start = t; this.moving = 0; this.said = null;
        this.returned = absentBefore >= this.s.gap;  // after nothing detected: never the last sign's tail
        this.run = 0; this.runLabel = -1;
        this.inside = [];
      }
      this.moving += 1;
      this.still = 0;
      if (t - this.start >= this.s.span && (t - this.start) % this.s.stride === 0) said = said.concat(await this.decide(t, false));
    } else if (this.active) {
      this.still += 1;
      if (this.still >= this.s.gap && await this.ended(t)) said = said.concat(await this.decide(t, true));
    }
    return said;
  }

  short() {
    return this.moving < Math.floor(this.s.span / 2);
  }

  // as live.Recognizer._ended: a short stretch waits for the rest of a sign unless nothing is detected
  // or the model is already sure of it as a whole sign
  async ended(t) {
    if (!this.short() || this.absent >= this.s.gap || this.still >= this.s.wait) return true;
    if (this.still > this.s.gap || this.moving < MIN_MOVING) return false;
    const probs = await this.probs(t, true);
    return Math.max(...probs) >= Math.fround(WHOLE_SURE);  // in float32, as Python compares
  }

  async finish() {
    if (!this.active || !this.recent.length) return [];
    for (let k = this.s.gap - this.still; k > 0; k--) {
      this.remember(this.recent[this.recent.length - 1]);
      this.still += 1;
    }
    return this.decide(this.frames - 1, true);
  }

  remember(frame) {
    this.recent.push(frame);
    if (this.recent.length > this.capacity) this.recent.shift();
  }

  window(skip = 0, span = null) {
    span = span || this.s.span;
    let frames = this.recent.slice(0, this.recent.length - skip);
    frames = frames.slice(Math.max(0, frames.length - span));
    if (frames.length < span) frames = Array.from({ length: span - frames.length }, () => this.first).concat(frames);
    if (this.s.resample) return resampleIndex(frames.length, this.s.length).map((i) => frames[i]);
    return fitLength(frames, this.s.length, this.s.truncate);
  }

  // the model's probabilities for the window a decision at frame t reads (once per window)
  async probs(t, final) {
    const c = this.classified;
    if (c && c.t === t && c.final === final && c.still === this.still && c.start === this.start) return c.probs;
    const length = t - this.start + 1 - this.still;
    const skip = final ? this.still - Math.min(this.still, Math.max(0, Math.floor((this.s.span - length) / 2))) : 0;
    const span = final && this.s.resample && length > this.s.span ? Math.min(length + 2, LONGEST * this.s.span) : null;
    const probs = await this.read(skip, span);
    this.classified = { t, final, still: this.still, start: this.start, probs };
    return probs;
  }

  // as live.Recognizer._read: the model's probabilities for window(skip, span)
  async read(skip, span) {
    this.decisions += 1;
    return this.predict(this.window(skip, span));
  }

  async decide(t, final) {
    if (final) {
      this.active = false;
      if (this.moving < MIN_MOVING) return [];
    }
    let probs = await this.probs(t, final);
    if (!final) {  // as live.Recognizer._decide: inside a long stretch, the mean of the last windows (float64 sum, float32 mean)
      this.inside.push(probs);
      if (this.inside.length > this.insideCapacity) this.inside.shift();
      const n = this.inside.length;
      probs = Float32Array.from(probs, (_, i) => this.inside.reduce((sum, p) => sum + p[i], 0) / n);
    }
    const best = argmax(probs);
    const last = this.emissions.length ? this.emissions[this.emissions.length - 1] : null;
    // as live.Recognizer._decide: within TAIL_LENGTHS of the sign's typical extent since it began, its tail;
    // so is a short stretch right after it (the hands returning) unless it spans REPEAT_LENGTHS of the extent
    const typical = best < (this.s.sign_frames || []).length ? this.s.sign_frames[best] : 0;
    const end = t - this.still;  // the stretch's last moving frame (a decision inside it comes on one)
    const extent = end - this.start + 1;
    const near = typical
      ? end - this.saidFrom + 1 < TAIL_LENGTHS * typical
      : last !== null && t - last.frame < REPEAT_SPAN * this.s.span;
    const returning = this.short() && !(typical > 0 && extent >= REPEAT_LENGTHS * typical);
    const tail = last !== null && last.sign === this.labels[best] && !this.returned && (
      near || (returning && this.start - last.frame <= Math.floor(this.s.span / 2)));
    // a piece of a sign needs SHORT_SURE - not a stretch with nothing detected on either side: no hold looks like that
    const piece = (this.short() || (typical > 0 && extent < PIECE_LENGTHS * typical)) &&
      !(this.returned && this.absent >= this.s.gap);
    const needed = final ? Math.max(this.s.threshold, piece ? SHORT_SURE : 0) : Math.max(this.s.threshold, INSIDE_SURE);
    const doubt = probs[best] < Math.fround(needed);
    if (doubt || best === this.said || tail) {
      this.run = 0; this.runLabel = -1;
      if (final && doubt) return this.unsure(t);
      if (final) this.unsaid = null;  // said nothing for another reason than doubt: no piece to read on with
      return [];
    }
    this.unsaid = null;
    if (!final) {
      this.run = best === this.runLabel ? this.run + 1 : 1;
      this.runLabel = best;
      if (this.run < this.s.hold || await this.wholeReadsOtherwise(t, best)) return [];
    }
    this.said = best;
    this.saidFrom = final ? this.start : Math.max(this.start, t - this.s.span + 1);
    const emission = { sign: this.labels[best], frame: t, start_frame: Math.max(0, t - this.s.span + 1), probability: probs[best] };
    this.emissions.push(emission);
    if (this.onEmission) this.onEmission(emission);
    return [emission];
  }

  // as live.Recognizer._whole_reads_otherwise: a sign said inside a stretch is not one the stretch since the last
  // sign said (all of it, before the first), seen whole, surely reads otherwise (a window of a long sign can look
  // like another sign)
  async wholeReadsOtherwise(t, best) {
    if (!this.s.resample) return false;
    // since the last sign said (all of the stretch before the first); a frame either side, as a finished stretch is seen whole
    const length = t - (this.said === null ? this.start : this.saidFrom) + 1;
    const probs = await this.read(0, Math.min(length + 2, LONGEST * this.s.span));
    const top = argmax(probs);
    return top !== best && probs[top] >= Math.fround(SHORT_SURE);
  }

  // as live.Recognizer._unsure: a stretch read below its bar right after another (a hold of at most half a
  // span between them) is read together with it - pieces of one sign a long hold split - where a window shows it whole
  async unsure(t) {
    const before = this.unsaid;
    this.unsaid = null;
    if (before !== null && !this.returned && this.start - before.end <= Math.floor(this.s.span / 2)
        && t - this.still - before.start < LONGEST * this.s.span) {
      this.start = before.start;
      this.moving += before.moving;
      this.returned = before.returned;
      return this.decide(t, true);
    }
    this.unsaid = { start: this.start, moving: this.moving, end: t - this.still, returned: this.returned };
    return [];
  }
}
