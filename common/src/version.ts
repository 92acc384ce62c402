/** netmatrix's version, reported by agents at registration. Kept equal to package.json (a test checks). */
export const VERSION = "0.1.0";
