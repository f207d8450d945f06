// Stylesheets imported for esbuild to bundle next to the script.
declare module '*.css'
