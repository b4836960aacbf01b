-- camdensity's basemap: water, parks, roads, rail and place names, nothing else (quiet by design).
node_keys = { "place" }

local place_minzoom = { city = 4, town = 8, village = 11, suburb = 11, quarter = 13, neighbourhood = 13 }
local road_class = {
  motorway = "major", trunk = "major", primary = "major",
  motorway_link = "major", trunk_link = "major", primary_link = "major",
  secondary = "medium", tertiary = "medium", secondary_link = "medium", tertiary_link = "medium",
  residential = "minor", unclassified = "minor", living_street = "minor", pedestrian = "minor",
  service = "service", road = "minor",
  footway = "path", cycleway = "path", path = "path", steps = "path", track = "path", bridleway = "path",
}
local road_minzoom = { major = 6, medium = 10, minor = 12, service = 14, path = 14 }
local water = { water = true, reservoir = true, basin = true, riverbank = true }
local green = { park = true, garden = true, grass = true, forest = true, wood = true, meadow = true,
                recreation_ground = true, cemetery = true, village_green = true, nature_reserve = true }

function init_function() end
function exit_function() end

function node_function(node)
  local place = node:Find("place")
  local mz = place_minzoom[place]
  local name = node:Find("name")
  if mz and name ~= "" then
    node:Layer("place", false)
    node:Attribute("class", place)
    node:Attribute("name", name)
    node:MinZoom(mz)
  end
end

function way_function(way)
  local highway = way:Find("highway")
  if highway ~= "" then
    local class = road_class[highway]
    if class and way:Find("area") ~= "yes" then
      way:Layer("road", false)
      way:Attribute("class", class)
      local name = way:Find("name")
      if name ~= "" then way:Attribute("name", name) end
      way:MinZoom(road_minzoom[class])
    end
    return
  end
  local railway = way:Find("railway")
  if railway == "rail" or railway == "light_rail" or railway == "subway" or railway == "tram" then
    way:Layer("rail", false)
    way:Attribute("class", railway)
    return
  end
  if not way:IsClosed() then return end
  if water[way:Find("natural")] or water[way:Find("landuse")] or water[way:Find("waterway")] then
    way:Layer("water", true)
    return
  end
  if green[way:Find("leisure")] or green[way:Find("landuse")] or green[way:Find("natural")]
      or green[way:Find("boundary")] then
    way:Layer("park", true)
  end
end
