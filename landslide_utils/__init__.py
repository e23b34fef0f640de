"""landslide_utils: the package behind the reproduction of Yang et al. (2022), *Landslide Extraction Using
Mask R-CNN with Background-Enhancement Method* (Remote Sens. 14, 2206), and a toolkit for mapping
landslides from your own GeoTIFFs. The numbered notebooks only call into it."""

__version__ = "0.1.0"
