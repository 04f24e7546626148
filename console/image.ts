// An image file → side×side grayscale pixels (0..255), light object on dark background as in (Fashion-)MNIST.

/**
 * Draws the picture centred and scaled to fit a side×side canvas, and reads it back as luminance.
 * `invert` undefined decides from the border: a light border means a dark object on a light background,
 * which is inverted. The preview canvas shows exactly what is sent.
 */
export async function imageToPixels(file: Blob, side: number, preview: HTMLCanvasElement, invert?: boolean): Promise<{ pixels: Float32Array; lightBackground: boolean }> {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  const g = canvas.getContext('2d', { willReadFrequently: true })!;
  // Transparent areas count as background: fill with the colour of the picture's corner first.
  const scale = Math.min(side / bitmap.width, side / bitmap.height);
  const w = Math.max(1, Math.round(bitmap.width * scale));
  const hgt = Math.max(1, Math.round(bitmap.height * scale));
  g.fillStyle = '#000';
  g.fillRect(0, 0, side, side);
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = 'high';
  g.drawImage(bitmap, Math.floor((side - w) / 2), Math.floor((side - hgt) / 2), w, hgt);
  bitmap.close();
  const { data } = g.getImageData(0, 0, side, side);
  const gray = new Float32Array(side * side);
  for (let i = 0; i < gray.length; i++) {
    const a = data[i * 4 + 3]! / 255;
    gray[i] = (0.299 * data[i * 4]! + 0.587 * data[i * 4 + 1]! + 0.114 * data[i * 4 + 2]!) * a;
  }
  let border = 0;
  let count = 0;
  for (let i = 0; i < side; i++) {
    for (const j of [i, (side - 1) * side + i, i * side, i * side + side - 1]) {
      border += gray[j]!;
      count++;
    }
  }
  const lightBackground = border / count > 127;
  if (invert ?? lightBackground) for (let i = 0; i < gray.length; i++) gray[i] = 255 - gray[i]!;
  const pixels = gray.map((v) => Math.round(Math.max(0, Math.min(255, v))));

  const out = preview.getContext('2d')!;
  const img = out.createImageData(side, side);
  pixels.forEach((v, i) => img.data.set([v, v, v, 255], i * 4));
  out.putImageData(img, 0, 0);
  return { pixels, lightBackground };
}
