// One MediaPipe HolisticLandmarkerResult -> the frame vector `signtrain extract` writes: pose
// 33 x (x, y, z, visibility), face 468 x 3 (the Tasks mesh's 10 iris points left out), left hand
// 21 x 3, right hand 21 x 3 = 1662 float32 values, zeros where a part was not seen; a model's
// layout is a selection of those values (settings.json "selection", from signtrain.extract.holistic).

const PARTS = [["poseLandmarks", 33, 4], ["faceLandmarks", 468, 3], ["leftHandLandmarks", 21, 3], ["rightHandLandmarks", 21, 3]];
export const HOLISTIC_LENGTH = 1662;

function first(list) {
  // one person: the Tasks API gives a list per person
  if (!list || !list.length) return null;
  return Array.isArray(list[0]) ? (list[0].length ? list[0] : null) : list;
}

export function holisticVector(result) {
  const out = new Float32Array(HOLISTIC_LENGTH);
  const seen = [];
  let at = 0;
  for (const [key, count, width] of PARTS) {
    const points = first(result[key]);
    seen.push(points !== null);
    if (points) {
      for (let i = 0; i < count; i++) {
        const p = points[i];
        out[at + i * width] = p.x;
        out[at + i * width + 1] = p.y;
        out[at + i * width + 2] = p.z;
        if (width === 4) out[at + i * width + 3] = p.visibility || 0;
      }
    }
    at += count * width;
  }
  return { vector: out, seen };
}

export function select(vector, selection) {
  const out = new Float32Array(selection.length);
  for (let i = 0; i < selection.length; i++) out[i] = vector[selection[i]];
  return out;
}
