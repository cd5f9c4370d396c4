// Eleventy config for the example site that ingest writes into (see feeds.yaml).
// ingest's files go to posts/; layouts are in _includes/.
module.exports = function (eleventyConfig) {
  // the day of a post as YYYY-MM-DD; ingest's `date: 2026-01-07` is read as midnight UTC
  eleventyConfig.addFilter("isoDate", (date) => new Date(date).toISOString().slice(0, 10));
  // Eleventy builds collections from `tags` by itself; categories are
  // grouped here, for the categories page
  eleventyConfig.addCollection("categories", (collectionApi) => {
    const groups = {};
    for (const item of collectionApi.getAll()) {
      for (const category of item.data.categories || []) {
        (groups[category] ||= []).push(item);
      }
    }
    return groups;
  });
  // images stored with the posts (`images: download` in feeds.yaml): copied beside each post's page
  eleventyConfig.addPassthroughCopy("posts/**/*.{png,jpg,gif,webp,avif,svg}");
  // .gitignore keeps the ingested posts out of git, not out of the site
  eleventyConfig.setUseGitIgnore(false);
  // ingest's store and config are not part of the site
  eleventyConfig.ignores.add(".ingest/**");
  eleventyConfig.ignores.add("feeds.yaml");
  return {
    dir: { input: ".", includes: "_includes", output: "_site" },
  };
};
